// Fixture spec parsing (docs/fixture-spec.md): errors name the JSON path (missing keys, wrong types,
// unknown keys, ranges past the capacity), defaults and derived CIDs; descriptor edits. Builds nothing.
#include <catch2/catch.hpp>
#include <fstream>

#include "fixture/damage.hpp"
#include "fixture/spec.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/error.hpp"

using vmdk::fixture::parse_fixture_spec;
using vmdk_test::error_text;

namespace {

vmdk::fixture::FixtureSpec parse(const std::string& text) {
  return parse_fixture_spec(text, "spec.json");
}

// The error message parsing text gives ("" when it parses).
std::string error_of(const std::string& text) {
  return error_text([&] { parse(text); });
}

// A spec with one disk whose members are `disk` (JSON text without braces).
std::string one_disk(const std::string& disk) {
  return R"({"seed": 7, "disks": [{"name": "d.vmdk", "capacity": "1M", )" + disk + "}]}";
}

}  // namespace

TEST_CASE("a complete spec parses with its values and defaults") {
  auto spec = parse(R"({"seed": 9, "disks": [{"name": "a.vmdk", "type": "twoGbMaxExtentSparse",
      "capacity": "2M", "grain_size": "8K", "adapter": "ide", "hw_version": 7, "zeroed_grains": true,
      "cid": "1A2b3c4d", "uuid": "60 00 c2 9b 36 4c 8d 2a-8c 2e 36 2d 5b 62 7d 01",
      "long_content_id": "0123456789abcdef0123456789abcdef",
      "writes": [{"offset": "0x10", "length": 3, "pattern": "0xab"}, {"offset": 100, "length": "1K", "zero": true}],
      "layers": [{"cid": "ff", "zeroed_grains": true, "grain_size": 4096,
                  "writes": [{"offset": 5, "length": 1, "pattern": 7}]}, {}],
      "damage": [{"file": "a.vmdk", "field": "grain_size", "value": 3},
                 {"file": "a.vmdk", "offset": "1K", "hex": "de ad"},
                 {"file": "a-000001.vmdk", "descriptor": {"parentCID": "00000000", "ddb.uuid": null}}]}]})");
  REQUIRE(spec.seed == 9);
  REQUIRE(spec.disks.size() == 1);
  const auto& d = spec.disks[0];
  CHECK(d.name == "a.vmdk");
  CHECK(d.create.type == vmdk::DiskType::two_gb_sparse);
  CHECK(d.create.capacity == 2u << 20);
  CHECK(d.create.grain_size == 8192);
  CHECK(d.create.adapter == vmdk::Adapter::ide);
  CHECK(d.create.hw_version == 7);
  CHECK(d.create.zeroed_grains);
  CHECK(d.create.cid == 0x1a2b3c4du);
  CHECK(d.create.uuid == "60 00 c2 9b 36 4c 8d 2a-8c 2e 36 2d 5b 62 7d 01");
  CHECK(d.create.compress_level == 0);
  REQUIRE(d.writes.size() == 2);
  CHECK(d.writes[0].offset == 16);
  CHECK(d.writes[0].length == 3);
  CHECK(d.writes[0].pattern == 0xab);
  CHECK(d.writes[1].kind == vmdk::WriteData::Kind::zero);
  CHECK(d.writes[1].length == 1024);
  REQUIRE(d.layers.size() == 2);
  CHECK(d.layers[0].cid == 0xff);
  CHECK(d.layers[0].grain_size == 4096u);
  CHECK(d.layers[0].writes[0].where == "disks[0].layers[0].writes[0]");
  CHECK_FALSE(d.layers[1].grain_size);
  REQUIRE(d.damage.size() == 3);
  CHECK(d.damage[0].kind == vmdk::fixture::DamageSpec::Kind::field);
  CHECK(d.damage[1].bytes == std::vector<std::uint8_t>{0xde, 0xad});
  CHECK(d.damage[1].offset == 1024);
  REQUIRE(d.damage[2].edits.size() == 2);
  CHECK_FALSE(d.damage[2].edits[1].value);
}

TEST_CASE("CIDs not given are derived from the seed: repeatable, distinct per link") {
  const std::string text = one_disk(R"("layers": [{}, {}])");
  auto a = parse(text), b = parse(text);
  CHECK(a.disks[0].create.cid == b.disks[0].create.cid);
  CHECK(a.disks[0].layers[1].cid == b.disks[0].layers[1].cid);
  CHECK(a.disks[0].create.seed == b.disks[0].create.seed);
  CHECK(a.disks[0].create.cid != a.disks[0].layers[0].cid);
  CHECK(a.disks[0].layers[0].cid != a.disks[0].layers[1].cid);
  auto c = parse(R"({"seed": 8, "disks": [{"name": "d.vmdk", "capacity": "1M"}]})");
  CHECK(c.disks[0].create.cid != a.disks[0].create.cid);
  CHECK(*a.disks[0].create.cid < 0xfffffffeu);
}

TEST_CASE("missing keys are named with their JSON path") {
  CHECK(error_of(R"({"seed": 1})") == "spec.json: top level: missing key \"disks\"");
  CHECK(error_of(R"({"disks": [{"capacity": 512}]})") == "spec.json: disks[0]: missing key \"name\"");
  CHECK(error_of(R"({"disks": [{"name": "a.vmdk"}]})") == "spec.json: disks[0]: missing key \"capacity\"");
  CHECK(error_of(one_disk(R"("writes": [{"length": 1, "pattern": 1}])")) ==
        "spec.json: disks[0].writes[0]: missing key \"offset\"");
  CHECK(error_of(one_disk(R"("writes": [{"offset": 1, "pattern": 1}])")) ==
        "spec.json: disks[0].writes[0]: missing key \"length\"");
  CHECK(error_of(one_disk(R"("writes": [{"offset": 1, "length": 1}])")) ==
        "spec.json: disks[0].writes[0]: expected exactly one of \"pattern\", \"zero\" or \"file\"");
  CHECK(error_of(one_disk(R"("damage": [{"field": "version", "value": 1}])")) ==
        "spec.json: disks[0].damage[0]: missing key \"file\"");
  CHECK(error_of(one_disk(R"("damage": [{"file": "d.vmdk", "offset": 1}])")) ==
        "spec.json: disks[0].damage[0]: missing key \"hex\"");
}

TEST_CASE("wrong types are named with their JSON path") {
  CHECK(error_of("[]") == "spec.json: top level: expected an object, found array");
  CHECK(error_of(R"({"disks": {}})") == "spec.json: disks: expected an array, found object");
  CHECK(error_of(R"({"disks": []})") == "spec.json: disks: expected at least one disk");
  CHECK(
      error_of(
          one_disk(
              R"("layers": [{}, {"writes": [{"offset": 0, "length": 1, "zero": true}, {"offset": 1, "length": 1, "zero": true}, {"offset": -1, "length": 1, "zero": true}]}])"))
          .find("spec.json: disks[0].layers[1].writes[2].offset: expected a byte count") == 0);
  CHECK(error_of(one_disk(R"("writes": [{"offset": 1.5, "length": 1, "zero": true}])"))
            .find("disks[0].writes[0].offset: expected a byte count") != std::string::npos);
  CHECK(error_of(one_disk(R"("writes": [{"offset": "12Q", "length": 1, "zero": true}])"))
            .find("disks[0].writes[0].offset: expected a byte count") != std::string::npos);
  CHECK(error_of(one_disk(R"("writes": [{"offset": 0, "length": 1, "zero": 1}])")) ==
        "spec.json: disks[0].writes[0].zero: expected true or false, found number");
  CHECK(error_of(one_disk(R"("writes": [{"offset": 0, "length": 1, "pattern": 256}])")) ==
        "spec.json: disks[0].writes[0].pattern: byte value 256 is larger than 255");
  CHECK(error_of(one_disk(R"("cid": 12)")).find("disks[0].cid: expected a CID") != std::string::npos);
  CHECK(error_of(one_disk(R"("cid": "123456789")")).find("disks[0].cid: expected a CID") !=
        std::string::npos);
  CHECK(error_of(one_disk(R"("uuid": "60 00")")).find("disks[0].uuid: expected a ddb.uuid") !=
        std::string::npos);
  CHECK(error_of(one_disk(R"("type": "vhd")")).find("disks[0].type: unknown disk type 'vhd'") !=
        std::string::npos);
  CHECK(error_of(one_disk(R"("type": "raw")")) == "spec.json: disks[0].type: raw is not a VMDK type");
  CHECK(error_of(one_disk(R"("adapter": "scsi")")).find("disks[0].adapter: ") != std::string::npos);
  CHECK(error_of(one_disk(R"("grain_size": "3K")")) ==
        "spec.json: disks[0].grain_size: grain size 3072 is not a power of two from 4K to 1M");
  CHECK(error_of(one_disk(R"("compress_level": 6)")) ==
        "spec.json: disks[0].compress_level: applies only to streamOptimized");
  CHECK(error_of(R"({"disks": [{"name": "sub/a.vmdk", "capacity": 512}]})") ==
        "spec.json: disks[0].name: expected a plain file name (no folders)");
  CHECK(error_of(R"({"disks": [{"name": "a.img", "capacity": 512}]})") ==
        "spec.json: disks[0].name: must end with .vmdk");
  CHECK(error_of(R"({"disks": [{"name": "a.vmdk", "capacity": 1000}]})") ==
        "spec.json: disks[0].capacity: capacity 1000 is not a positive multiple of 512");
  CHECK(
      error_of(R"({"disks": [{"name": "a.vmdk", "capacity": 512}, {"name": "a.vmdk", "capacity": 512}]})") ==
      "spec.json: disks[1].name: \"a.vmdk\" is used by another disk");
  CHECK(error_of("{\"disks\": [") == "spec.json: not valid JSON (byte 12)");
}

TEST_CASE("unknown keys are rejected with their JSON path") {
  CHECK(error_of(R"({"seed": 1, "disk": []})")
            .find("spec.json: disk: unknown key (valid keys here: seed, disks, comment)") == 0);
  CHECK(error_of(one_disk(R"("grainsize": 4096)")).find("spec.json: disks[0].grainsize: unknown key") == 0);
  CHECK(error_of(one_disk(R"("layers": [{"writes": [{"offset": 0, "length": 1, "patern": 1}]}])"))
            .find("spec.json: disks[0].layers[0].writes[0].patern: unknown key") == 0);
  CHECK(error_of(one_disk(R"("layers": [{"type": "vmfs"}])"))
            .find("spec.json: disks[0].layers[0].type: unknown key") == 0);
  CHECK(error_of(one_disk(R"("damage": [{"file": "d.vmdk", "field": "grainSize", "value": 1}])"))
            .find("spec.json: disks[0].damage[0].field: unknown sparse header field \"grainSize\"") == 0);
  CHECK(error_of(one_disk(R"("damage": [{"file": "d.vmdk", "offset": 0, "hex": "00", "value": 1}])")) ==
        "spec.json: disks[0].damage[0].value: goes with \"field\"");
}

TEST_CASE("ranges past the capacity and bad values are refused before building") {
  CHECK(error_of(one_disk(R"("writes": [{"offset": "1M", "length": 1, "pattern": 1}])")) ==
        "spec.json: disks[0].writes[0]: range 0x100000+0x1 ends past the capacity 0x100000");
  CHECK(error_of(
            one_disk(R"("layers": [{}, {"writes": [{"offset": 1048000, "length": 577, "zero": true}]}])")) ==
        "spec.json: disks[0].layers[1].writes[0]: range 0xffdc0+0x241 ends past the capacity 0x100000");
  CHECK(error_of(one_disk(R"("writes": [{"offset": "0xffffffffffffffff", "length": 2, "zero": true}])"))
            .find("ends past the capacity") != std::string::npos);
  CHECK(error_of(one_disk(R"("writes": [{"offset": "1048575", "length": 1, "pattern": 1}])")).empty());
  CHECK(error_of(one_disk(R"("writes": [{"offset": 0, "length": 0, "zero": true}])")) ==
        "spec.json: disks[0].writes[0].length: a write needs at least one byte");
  CHECK(error_of(one_disk(R"("damage": [{"file": "d.vmdk", "field": "version", "value": 4294967296}])")) ==
        "spec.json: disks[0].damage[0].value: 4294967296 does not fit the 4-byte field version");
  CHECK(error_of(one_disk(R"("damage": [{"file": "d.vmdk", "offset": 0, "hex": "abc"}])")) ==
        "spec.json: disks[0].damage[0].hex: expected a non-empty, even number of hex digits");
}

TEST_CASE("file writes are sized from the file, relative to the spec's folder") {
  vmdk_test::TempDir dir("vmdkit-fixture");
  { std::ofstream(dir / "data.bin", std::ios::binary) << std::string(3000, 'x'); }
  const auto spec_file = dir / "spec.json";
  auto spec = parse_fixture_spec(one_disk(R"("writes": [{"offset": 5, "file": "data.bin"}])"), spec_file);
  CHECK(spec.disks[0].writes[0].length == 3000);
  CHECK(spec.disks[0].writes[0].file == dir / "data.bin");
  auto part = parse_fixture_spec(one_disk(R"("writes": [{"offset": 5, "file": "data.bin", "length": 10}])"),
                                 spec_file);
  CHECK(part.disks[0].writes[0].length == 10);
  CHECK(error_text([&] {
          parse_fixture_spec(one_disk(R"("writes": [{"offset": 5, "file": "data.bin", "length": 3001}])"),
                             spec_file);
        }).find("disks[0].writes[0].length: is 3001 but") != std::string::npos);
  CHECK(error_text([&] {
          parse_fixture_spec(one_disk(R"("writes": [{"offset": 1046577, "file": "data.bin"}])"), spec_file);
        }).find("disks[0].writes[0]: range 0xff831+0xbb8 ends past the capacity") != std::string::npos);
  CHECK(error_text([&] {
          parse_fixture_spec(one_disk(R"("writes": [{"offset": 0, "file": "missing.bin"}])"), spec_file);
        }).find("disks[0].writes[0].file: cannot read") != std::string::npos);
}

TEST_CASE("descriptor edits keep spelling, quoting and line endings") {
  using vmdk::fixture::edit_descriptor_text;
  const std::string text =
      "# Disk "
      "DescriptorFile\nversion=1\nCID=1a2b3c4d\nparentCID=ffffffff\r\ncreateType=\"monolithicSparse\"\n\n"
      "# Extent description\nRW 2048 SPARSE \"a.vmdk\"\n\n#DDB\nddb.uuid = \"x\"\nddb.adapterType = "
      "\"ide\"\n";
  CHECK(edit_descriptor_text(text, {"parentcid", "00000000"}).find("parentCID=00000000\r\n") !=
        std::string::npos);
  CHECK(edit_descriptor_text(text, {"createType", "vmfs"}).find("createType=\"vmfs\"\n") !=
        std::string::npos);
  CHECK(edit_descriptor_text(text, {"ddb.uuid", "y"}).find("ddb.uuid = \"y\"\n") != std::string::npos);
  const std::string removed = edit_descriptor_text(text, {"ddb.uuid", std::nullopt});
  CHECK(removed.find("ddb.uuid") == std::string::npos);
  CHECK(removed.size() == text.size() - std::string("ddb.uuid = \"x\"\n").size());
  const std::string added = edit_descriptor_text(text, {"parentFileNameHint", "p.vmdk"});
  CHECK(added.find("createType=\"monolithicSparse\"\nparentFileNameHint=p.vmdk\n") != std::string::npos);
  CHECK(edit_descriptor_text(text, {"ddb.new", "v"}).substr(text.size()) == "ddb.new = \"v\"\n");
  CHECK(edit_descriptor_text(text, {"CID", "1a2b3c4d"}) == text);
}
