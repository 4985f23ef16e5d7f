// rebuild_descriptor (libvmdk/src/ops/rebuild_*): every extent kind in temporary folders, split sets
// in order, refusals, parents by name, CID and option, CIDs kept from children, rebuilt disks that
// read back their bytes, and the real ESXi SESparse sample.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>

#include "format/cowd_header.hpp"
#include "format/sesparse_header.hpp"
#include "support/error_text.hpp"
#include "support/file_contents.hpp"
#include "support/kdmv_builder.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/error.hpp"
#include "vmdk/rebuild.hpp"

using namespace vmdk;
namespace fs = std::filesystem;
using vmdk_test::error_text;

namespace {

struct TempDir : vmdk_test::TempDir {
  TempDir() : vmdk_test::TempDir("vmdkit-rebuild") {}
};

template <typename Bytes>
void write_file(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

using vmdk_test::read_text;

std::vector<std::uint8_t> read_disk(const fs::path& path, std::uint64_t offset, std::size_t length) {
  std::vector<std::uint8_t> out(length);
  Disk::open(path)->read(offset, out);
  return out;
}

std::vector<std::uint8_t> read_chain(const fs::path& leaf, std::uint64_t offset, std::size_t length) {
  std::vector<std::uint8_t> out(length);
  Chain::open(leaf)->read(offset, out);
  return out;
}

// A monolithicFlat base NAME.vmdk + NAME-flat.vmdk of `sectors` holding pattern bytes.
void flat_base(const fs::path& dir, const std::string& name, std::uint64_t sectors, std::uint32_t cid) {
  write_file(dir / (name + ".vmdk"), "# Disk DescriptorFile\nversion=1\nCID=" + format_cid(cid) +
                                         "\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n"
                                         "# Extent description\nRW " +
                                         std::to_string(sectors) + " FLAT \"" + name +
                                         "-flat.vmdk\" 0\n\n# The Disk Data Base\n#DDB\n\n"
                                         "ddb.adapterType = \"ide\"\nddb.virtualHWVersion = \"7\"\n");
  write_file(dir / (name + "-flat.vmdk"), test::pattern_bytes(sectors * 512, cid));
}

// A monolithicSparse delta with its embedded descriptor; grain 2 holds 0xe2.
void sparse_child(const fs::path& file, std::uint64_t sectors, std::uint32_t cid, std::uint32_t parent_cid,
                  const std::string& hint) {
  const std::string text =
      "# Disk DescriptorFile\nversion=1\nCID=" + format_cid(cid) + "\nparentCID=" + format_cid(parent_cid) +
      "\ncreateType=\"monolithicSparse\"\nparentFileNameHint=\"" + hint + "\"\n\n# Extent description\nRW " +
      std::to_string(sectors) + " SPARSE \"" + file.filename().string() + "\"\n";
  write_file(file, test::KdmvBuilder(sectors).descriptor(text).fill_grain(2, 0xe2).build().bytes);
}

void cowd_extent(const fs::path& file, std::uint32_t sectors) {
  format::CowdHeader h;
  h.num_sectors = sectors;
  h.num_gd_entries = (sectors + 4095) / 4096;
  h.free_sector = 5;
  auto bytes = format::encode_cowd_header(h);
  std::vector<std::uint8_t> file_bytes(bytes.begin(), bytes.end());
  file_bytes.resize(5 * 512, 0);  // the (empty) grain directory
  write_file(file, file_bytes);
}

void sesparse_extent(const fs::path& file, std::uint64_t sectors) {
  format::SesparseHeader h;
  h.capacity = sectors;
  h.volatile_header_offset = 1;
  h.volatile_header_size = 1;
  write_file(file, format::encode_sesparse_header(h));
}

RebuildOptions seeded(std::uint64_t seed = 42) {
  RebuildOptions o;
  o.seed = seed;
  return o;
}

}  // namespace

TEST_CASE("flat extent: NAME-flat.vmdk gives a monolithicFlat NAME.vmdk that reads the same") {
  TempDir dir;
  const auto data = test::pattern_bytes(64 * 512, 3);
  write_file(dir / "disk-flat.vmdk", data);
  RebuildReport r = rebuild_descriptor({dir / "disk-flat.vmdk"}, seeded());
  CHECK(r.path == (dir / "disk.vmdk").string());
  CHECK(r.written);
  CHECK_FALSE(r.replaced);
  CHECK(r.create_type == "monolithicFlat");
  CHECK(r.capacity == data.size());
  CHECK(r.cid_source == "seed");
  CHECK(r.parent.empty());
  CHECK(r.text.find("\n# Extent description\nRW 64 FLAT \"disk-flat.vmdk\" 0\n") != std::string::npos);
  CHECK(r.text.find("ddb.adapterType = \"lsilogic\"") != std::string::npos);
  CHECK(r.text.find("ddb.geometry.cylinders = \"1\"") != std::string::npos);
  CHECK(r.text.find("ddb.virtualHWVersion = \"4\"") != std::string::npos);
  CHECK(read_text(dir / "disk.vmdk") == r.text);
  CHECK(Descriptor::parse(r.text, "x").print() == r.text);  // the printer's canonical text
  CHECK(Disk::open(dir / "disk.vmdk")->descriptor().cid() == r.cid);
  CHECK(read_disk(dir / "disk.vmdk", 0, data.size()) == data);
  // Temporaries are ".NAME.PID-RANDOM.vmdkit-tmp": none may be left.
  for (const auto& entry : fs::directory_iterator(dir.path))
    CHECK(entry.path().filename().string().find(".vmdkit-tmp") == std::string::npos);

  // The same input and seed give the same text; another seed another CID.
  TempDir other;
  write_file(other / "disk-flat.vmdk", data);
  RebuildOptions dry = seeded();
  dry.dry_run = true;
  RebuildReport again = rebuild_descriptor({other / "disk-flat.vmdk"}, dry);
  CHECK(again.text == r.text);
  CHECK_FALSE(again.written);
  CHECK_FALSE(fs::exists(other / "disk.vmdk"));  // a dry run writes nothing
  CHECK(rebuild_descriptor({other / "disk-flat.vmdk"},
                           [] {
                             RebuildOptions o = seeded(43);
                             o.dry_run = true;
                             return o;
                           }())
            .cid != r.cid);
}

TEST_CASE("bad flat input and names are refused with the file, the size and the structure") {
  TempDir dir;
  write_file(dir / "odd-flat.vmdk", std::vector<std::uint8_t>(1000, 1));
  std::string message = error_text([&] { rebuild_descriptor({dir / "odd-flat.vmdk"}); });
  CHECK(message.find("odd-flat.vmdk") != std::string::npos);
  CHECK(message.find("0x3e8") != std::string::npos);
  CHECK(message.find("multiple of 512") != std::string::npos);
  write_file(dir / "empty-flat.vmdk", std::string());
  CHECK_THROWS_AS(rebuild_descriptor({dir / "empty-flat.vmdk"}), FormatError);
  write_file(dir / "disk.vmdk", std::string(512, 0));
  CHECK_THROWS_AS(rebuild_descriptor({dir / "disk.vmdk"}), UsageError);
  CHECK_THROWS_AS(rebuild_descriptor({}), UsageError);
  write_file(dir / "a-flat.vmdk", std::string(512, 0));
  write_file(dir / "b-flat.vmdk", std::string(512, 0));
  CHECK(error_text([&] {
          rebuild_descriptor({dir / "a-flat.vmdk", dir / "b-flat.vmdk"});
        }).find("not an extent of the same disk") != std::string::npos);
  CHECK_THROWS_AS(rebuild_descriptor({dir / "missing-flat.vmdk"}), IoError);
  RebuildOptions with_parent;
  with_parent.parent = dir / "a.vmdk";
  CHECK_THROWS_AS(rebuild_descriptor({dir / "a-flat.vmdk"}, with_parent), UsageError);
}

TEST_CASE("an existing descriptor is refused unless forced, disk data never replaced") {
  TempDir dir;
  write_file(dir / "d-flat.vmdk", test::pattern_bytes(8 * 512, 1));
  write_file(dir / "d.vmdk", std::string("damaged"));
  CHECK(error_text([&] { rebuild_descriptor({dir / "d-flat.vmdk"}); }).find("already exists") !=
        std::string::npos);
  CHECK(read_text(dir / "d.vmdk") == "damaged");
  RebuildOptions force = seeded();
  force.force = true;
  RebuildReport r = rebuild_descriptor({dir / "d-flat.vmdk"}, force);
  CHECK(r.replaced);
  CHECK(read_text(dir / "d.vmdk") == r.text);
  write_file(dir / "d.vmdk", test::KdmvBuilder(2048).build().bytes);
  CHECK(error_text([&] { rebuild_descriptor({dir / "d-flat.vmdk"}, force); }).find("holds disk data") !=
        std::string::npos);
  // An explicit output path: extent names stay relative to it.
  RebuildOptions out = seeded();
  out.out = dir / "renamed.vmdk";
  CHECK(rebuild_descriptor({dir / "d-flat.vmdk"}, out).text.find("RW 8 FLAT \"d-flat.vmdk\" 0") !=
        std::string::npos);
  CHECK(read_disk(dir / "renamed.vmdk", 0, 4096) == test::pattern_bytes(8 * 512, 1));
}

TEST_CASE("split flat: every sibling found from any member, in numeric order") {
  TempDir dir;
  std::vector<std::uint8_t> all;
  const std::uint64_t sizes[] = {8 * 512, 8 * 512, 2 * 512};
  for (int i = 0; i < 3; ++i) {
    auto part = test::pattern_bytes(sizes[i], static_cast<std::uint32_t>(10 + i));
    write_file(dir / ("sf-f00" + std::to_string(i + 1) + ".vmdk"), part);
    all.insert(all.end(), part.begin(), part.end());
  }
  write_file(dir / "other-f001.vmdk", std::string(512, 0));  // another set: not a sibling
  RebuildReport r = rebuild_descriptor({dir / "sf-f002.vmdk"}, seeded());
  CHECK(r.create_type == "twoGbMaxExtentFlat");
  REQUIRE(r.extents.size() == 3);
  CHECK(r.extents[0].file == "sf-f001.vmdk");
  CHECK(r.extents[2].file == "sf-f003.vmdk");
  CHECK(r.extents[2].size == 1024);
  CHECK(r.text.find("# Extent description\nRW 8 FLAT \"sf-f001.vmdk\" 0\nRW 8 FLAT \"sf-f002.vmdk\" 0\n"
                    "RW 2 FLAT \"sf-f003.vmdk\" 0\n") != std::string::npos);
  CHECK(read_disk(dir / "sf.vmdk", 0, all.size()) == all);
}

TEST_CASE("split sparse: capacities from the headers, a gap refused naming the missing part") {
  TempDir dir;
  write_file(dir / "ss-s001.vmdk", test::KdmvBuilder(2048).fill_grain(3, 0x5a).build().bytes);
  write_file(dir / "ss-s002.vmdk", test::KdmvBuilder(1024).fill_grain(0, 0xa5).build().bytes);
  RebuildReport r = rebuild_descriptor({dir / "ss-s001.vmdk", dir / "ss-s002.vmdk"}, seeded());
  CHECK(r.create_type == "twoGbMaxExtentSparse");
  CHECK(r.capacity == 3072 * 512);
  CHECK(r.parent.empty());
  CHECK(r.text.find("RW 2048 SPARSE \"ss-s001.vmdk\"\nRW 1024 SPARSE \"ss-s002.vmdk\"\n") !=
        std::string::npos);
  CHECK(read_disk(dir / "ss.vmdk", 3 * 65536, 65536) == std::vector<std::uint8_t>(65536, 0x5a));
  CHECK(read_disk(dir / "ss.vmdk", 2048 * 512, 65536) == std::vector<std::uint8_t>(65536, 0xa5));

  write_file(dir / "gap-s001.vmdk", test::KdmvBuilder(2048).build().bytes);
  write_file(dir / "gap-s003.vmdk", test::KdmvBuilder(2048).build().bytes);
  std::string message = error_text([&] { rebuild_descriptor({dir / "gap-s003.vmdk"}); });
  CHECK(message.find("gap-s002.vmdk missing") != std::string::npos);
  write_file(dir / "bad-s001.vmdk", std::string(4096, 'x'));
  CHECK(error_text([&] { rebuild_descriptor({dir / "bad-s001.vmdk"}); }).find("KDMV magic") !=
        std::string::npos);
}

TEST_CASE("hosted split delta: parent by name and capacity, CID from the child that names it") {
  TempDir dir;
  flat_base(dir.path, "base", 2048, 0x11111111);
  write_file(dir / "base-000001-s001.vmdk", test::KdmvBuilder(2048).fill_grain(1, 0xd1).build().bytes);
  // base-000002 names the lost link as its parent: same capacity, but it must never be chosen.
  sparse_child(dir / "base-000002.vmdk", 2048, 0x33333333, 0x22222222, "base-000001.vmdk");
  flat_base(dir.path, "unrelated", 4096, 0x44444444);  // another capacity

  RebuildReport r = rebuild_descriptor({dir / "base-000001-s001.vmdk"}, seeded());
  CHECK(r.path == (dir / "base-000001.vmdk").string());
  CHECK(r.parent == (dir / "base.vmdk").string());
  CHECK(r.parent_source == "name");
  CHECK(r.parent_cid == 0x11111111);
  CHECK(r.parent_hint == "base.vmdk");
  CHECK(r.cid == 0x22222222);
  CHECK(r.cid_source == "child");
  CHECK(r.cid_reason.find("base-000002.vmdk") != std::string::npos);
  CHECK(r.text.find("CID=22222222\nparentCID=11111111\ncreateType=\"twoGbMaxExtentSparse\"\n"
                    "parentFileNameHint=\"base.vmdk\"\n") != std::string::npos);
  CHECK(r.text.find("ddb.adapterType = \"ide\"") != std::string::npos);  // copied from the parent
  CHECK(r.text.find("ddb.virtualHWVersion = \"7\"") != std::string::npos);

  // The whole chain opens with intact links and reads each layer's bytes.
  auto chain = Chain::open(dir / "base-000002.vmdk");
  CHECK(chain->ok());
  CHECK(chain->layers().size() == 3);
  const auto base = test::pattern_bytes(2048 * 512, 0x11111111);
  CHECK(read_chain(dir / "base-000002.vmdk", 0, 65536) ==
        std::vector<std::uint8_t>(base.begin(), base.begin() + 65536));
  CHECK(read_chain(dir / "base-000002.vmdk", 65536, 65536) == std::vector<std::uint8_t>(65536, 0xd1));
  CHECK(read_chain(dir / "base-000002.vmdk", 2 * 65536, 65536) == std::vector<std::uint8_t>(65536, 0xe2));

  // The base's own descriptor lost: its CID comes from its child, so the chain still holds.
  fs::remove(dir / "base.vmdk");
  RebuildReport b = rebuild_descriptor({dir / "base-flat.vmdk"}, seeded());
  CHECK(b.cid == 0x11111111);
  CHECK(b.cid_source == "child");
  CHECK(Chain::open(dir / "base-000002.vmdk")->ok());
}

TEST_CASE("the previous snapshot wins over the base, a parent in a search folder gets a relative hint") {
  TempDir dir;
  fs::create_directories(dir / "vm");
  fs::create_directories(dir / "other");
  flat_base(dir / "vm", "d", 2048, 0x0000000a);
  sparse_child(dir / "vm" / "d-000001.vmdk", 2048, 0x0000000b, 0x0000000a, "d.vmdk");
  write_file(dir / "vm" / "d-000002-s001.vmdk", test::KdmvBuilder(2048).build().bytes);
  RebuildReport r = rebuild_descriptor({dir / "vm" / "d-000002-s001.vmdk"}, seeded());
  CHECK(r.parent_hint == "d-000001.vmdk");
  CHECK(r.parent_cid == 0x0000000b);
  CHECK(r.cid_source == "seed");

  flat_base(dir / "other", "e", 2048, 0x0000000c);
  write_file(dir / "vm" / "e-000001-s001.vmdk", test::KdmvBuilder(2048).build().bytes);
  CHECK_THROWS_AS(rebuild_descriptor({dir / "vm" / "e-000001-s001.vmdk"}, seeded()), ChainError);
  RebuildOptions search = seeded();
  search.search = {dir / "other"};
  r = rebuild_descriptor({dir / "vm" / "e-000001-s001.vmdk"}, search);
  CHECK(r.parent_hint == "../other/e.vmdk");
  CHECK(r.parent_cid == 0x0000000c);
  bool warned = false;
  for (const auto& w : r.warnings)
    warned = warned || w.find("leaves the descriptor's folder") != std::string::npos;
  CHECK(warned);
}

TEST_CASE("COWD delta: vmfsSparse descriptor, two equally good parents refused until one is named") {
  TempDir dir;
  flat_base(dir.path, "a", 2048, 0xaaaaaaaa);
  flat_base(dir.path, "b", 2048, 0xbbbbbbbb);
  flat_base(dir.path, "c", 4096, 0xcccccccc);
  cowd_extent(dir / "x-000001-delta.vmdk", 2048);
  std::string message = error_text([&] { rebuild_descriptor({dir / "x-000001-delta.vmdk"}, seeded()); });
  CHECK(message.find("2 disks could be the parent") != std::string::npos);
  CHECK(message.find("a.vmdk (CID aaaaaaaa)") != std::string::npos);
  CHECK(message.find("b.vmdk (CID bbbbbbbb)") != std::string::npos);
  CHECK(message.find("--parent") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "x-000001.vmdk"));

  RebuildOptions named = seeded();
  named.parent = dir / "a.vmdk";
  RebuildReport r = rebuild_descriptor({dir / "x-000001-delta.vmdk"}, named);
  CHECK(r.parent_source == "option");
  CHECK(r.create_type == "vmfsSparse");
  CHECK(r.text.find("parentCID=aaaaaaaa\ncreateType=\"vmfsSparse\"\nparentFileNameHint=\"a.vmdk\"\n") !=
        std::string::npos);
  CHECK(r.text.find("RW 2048 VMFSSPARSE \"x-000001-delta.vmdk\"\n") != std::string::npos);
  Descriptor d = Descriptor::parse(r.text, "x");
  CHECK_FALSE(d.extents().at(0).offset.has_value());
  CHECK(d.extents().at(0).type == ExtentType::vmfssparse);

  RebuildOptions by_cid = seeded();
  by_cid.parent_cid = 0xbbbbbbbb;
  by_cid.dry_run = true;
  by_cid.force = true;  // x-000001.vmdk exists now
  r = rebuild_descriptor({dir / "x-000001-delta.vmdk"}, by_cid);
  CHECK(r.parent_source == "cid");
  CHECK(r.parent_hint == "b.vmdk");

  RebuildOptions wrong = seeded();
  wrong.parent = dir / "c.vmdk";
  wrong.force = true;
  CHECK(error_text([&] { rebuild_descriptor({dir / "x-000001-delta.vmdk"}, wrong); }).find("capacity") !=
        std::string::npos);

  write_file(dir / "y-000001-delta.vmdk", std::string(2048, 'j'));
  Error caught("", "");
  try {
    rebuild_descriptor({dir / "y-000001-delta.vmdk"});
  } catch (const FormatError& e) {
    caught = e;
  }
  CHECK(std::string(caught.what()).find("no COWD magic") != std::string::npos);
  CHECK(caught.offset() == 0u);
  cowd_extent(dir / "z-000001-delta.vmdk", 0);
  CHECK(error_text([&] {
          rebuild_descriptor({dir / "z-000001-delta.vmdk"});
        }).find("num_sectors at 0xc is 0") != std::string::npos);
}

TEST_CASE("SESparse delta: seSparse descriptor with the capacity of the header") {
  TempDir dir;
  flat_base(dir.path, "s", 1024, 0x5e5e5e5e);
  sesparse_extent(dir / "s-000001-sesparse.vmdk", 1024);
  RebuildReport r = rebuild_descriptor({dir / "s-000001-sesparse.vmdk"}, seeded());
  CHECK(r.create_type == "seSparse");
  CHECK(r.parent_hint == "s.vmdk");
  CHECK(r.parent_source == "name");
  CHECK(r.text.find("RW 1024 SESPARSE \"s-000001-sesparse.vmdk\"\n") != std::string::npos);
  sesparse_extent(dir / "t-000001-sesparse.vmdk", 0);
  CHECK_THROWS_AS(rebuild_descriptor({dir / "t-000001-sesparse.vmdk"}), FormatError);
}

TEST_CASE("the real ESXi SESparse extent gets the descriptor its sample has", "[samples]") {
  std::optional<fs::path> gz;
  for (const fs::path& samples : {fs::path(VMDKIT_SAMPLES_DIR), fs::path("/work/shared/samples")}) {
    if (fs::exists(samples / "esxi" / "disk-sesparse.vmdk.gz"))
      gz = samples / "esxi" / "disk-sesparse.vmdk.gz";
  }
  if (!gz) {
    WARN("samples folder (../shared/samples beside the project, or /work/shared/samples) not found: skipped");
    return;
  }
  TempDir dir;
  // Only the headers are read: the first 64 KiB of the 22 MiB extent will do.
  gzFile in = gzopen(gz->c_str(), "rb");
  REQUIRE(in != nullptr);
  std::vector<std::uint8_t> head(65536);
  const int got = gzread(in, head.data(), static_cast<unsigned>(head.size()));
  gzclose(in);
  REQUIRE(got == static_cast<int>(head.size()));
  write_file(dir / "disk-sesparse.vmdk", head);
  flat_base(dir.path, "base", 1048576, 0x0badf00d);
  RebuildOptions o = seeded();
  o.parent = dir / "base.vmdk";
  RebuildReport r = rebuild_descriptor({dir / "disk-sesparse.vmdk"}, o);
  CHECK(r.create_type == "seSparse");
  CHECK(r.capacity == 536870912);  // the MANIFEST's virtual size
  // The extent line of the descriptor published with the sample (samples/esxi/sesparse.vmdk).
  CHECK(r.text.find("\nRW 1048576 SESPARSE \"disk-sesparse.vmdk\"\n") != std::string::npos);
  CHECK(r.text.find("parentCID=0badf00d\n") != std::string::npos);
}
