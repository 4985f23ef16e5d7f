// Unit tests of the text descriptor (vmdk-format.md section 1): parsing, printing, edits, errors,
// and round-trip properties over generated and mutated descriptors.
#include "vmdk/descriptor.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "vmdk/error.hpp"

using vmdk::Descriptor;
using vmdk::ExtentAccess;
using vmdk::ExtentLine;
using vmdk::ExtentType;

namespace {

Descriptor parse(std::string_view text) {
  return Descriptor::parse(text, "test.vmdk");
}

void check_round_trip(const Descriptor& d) {
  std::string printed = d.print();
  Descriptor again = parse(printed);
  REQUIRE(again == d);
  REQUIRE(again.print() == printed);
}

// The canonical texts of vmdk-format.md 1.11 (the open-vmdk one with a final newline added).
const std::vector<std::string> kCanonical = {
    // QEMU monolithicSparse
    "# Disk DescriptorFile\nversion=1\nCID=9ae2339\nparentCID=ffffffff\ncreateType=\"monolithicSparse\"\n\n"
    "# Extent description\nRW 204800 SPARSE \"mono.vmdk\"\n\n# The Disk Data Base\n#DDB\n\n"
    "ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"203\"\nddb.geometry.heads = \"16\"\n"
    "ddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\nddb.toolsVersion = \"2147483647\"\n",
    // QEMU child
    "# Disk DescriptorFile\nversion=1\nCID=f78daeaf\nparentCID=9ae2339\ncreateType=\"monolithicSparse\"\n"
    "parentFileNameHint=\"base.vmdk\"\n# Extent description\nRW 204800 SPARSE \"child.vmdk\"\n\n"
    "# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n",
    // QEMU twoGbMaxExtentSparse and twoGbMaxExtentFlat, monolithicFlat
    "# Disk DescriptorFile\nversion=1\nCID=12ab\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentSparse\"\n\n"
    "# Extent description\nRW 4194304 SPARSE \"split-s001.vmdk\"\nRW 4194304 SPARSE \"split-s002.vmdk\"\n"
    "RW 2097152 SPARSE \"split-s003.vmdk\"\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = \"ide\"\n",
    "# Disk DescriptorFile\nversion=1\nCID=12ab\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentFlat\"\n\n"
    "# Extent description\nRW 4194304 FLAT \"splitf-f001.vmdk\" 0\nRW 4194304 FLAT \"splitf-f002.vmdk\" 0\n\n"
    "# The Disk Data Base\n#DDB\n\nddb.adapterType = \"ide\"\n",
    "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n"
    "# Extent description\nRW 83886080 FLAT \"flat-flat.vmdk\" 0\n\n# The Disk Data Base\n#DDB\n\n"
    "ddb.adapterType = \"ide\"\n",
    // VMware technote
    "# Disk "
    "DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentSparse\"\n"
    "# Extent description\nRW 4192256 SPARSE \"test-s001.vmdk\"\nRW 4192256 SPARSE \"test-s002.vmdk\"\n"
    "RW 2101248 SPARSE \"test-s003.vmdk\"\n# The Disk Data Base\n#DDB\nddb.adapterType = \"ide\"\n"
    "ddb.geometry.sectors = \"63\"\nddb.geometry.heads = \"16\"\nddb.geometry.cylinders = \"10402\"\n",
    // ESXi vmfs base
    "# Disk DescriptorFile\nversion=1\nCID=3729b687\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n"
    "# Extent description\nRW 41943040 VMFS \"Base_R91-flat.vmdk\"\n\n# The Disk Data Base\n#DDB\n\n"
    "ddb.adapterType = \"ide\"\nddb.deletable = \"true\"\nddb.encoding = \"UTF-8\"\n"
    "ddb.geometry.cylinders = \"41610\"\nddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\n"
    "ddb.longContentID = \"f6371048ed90dd02a7e9ded6fffffffe\"\nddb.thinProvisioned = \"1\"\n"
    "ddb.uuid = \"60 00 C2 9f 9a b0 9b 9c-13 55 b8 11 fd 2c 92 9b\"\nddb.virtualHWVersion = \"6\"\n",
    // ESXi SESparse child
    "# Disk DescriptorFile\nversion=1\nCID=3729b687\nparentCID=3729b687\ncreateType=\"seSparse\"\n"
    "parentFileNameHint=\"Base_R91.vmdk\"\n# Extent description\n"
    "RW 41943040 SESPARSE \"Base_R91-000001-sesparse.vmdk\"\n\n# The Disk Data Base\n#DDB\n\n"
    "ddb.encoding = \"UTF-8\"\nddb.grain = \"8\"\nddb.longContentID = \"f6371048ed90dd02a7e9ded6fffffffe\"\n",
    // ESXi vmfsSparse child, version 2, trailing space in the DDB comment
    "# Disk DescriptorFile\nversion=2\nencoding=\"UTF-8\"\nCID=d9c73e0a\nparentCID=5ad259c6\n"
    "isNativeSnapshot=\"no\"\ncreateType=\"vmfsSparse\"\nparentFileNameHint=\"HostName.vmdk\"\n"
    "# Extent description\nRW 1048576000 VMFSSPARSE \"HostName-000001-delta.vmdk\"\n\n"
    "# The Disk Data Base \n#DDB\n\nddb.longContentID = \"29441754bee7ae3d9cc80a26d9c73e0a\"\n",
    // open-vmdk streamOptimized
    "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=936db7e4\nparentCID=ffffffff\n"
    "createType=\"streamOptimized\"\n\n# Extent description\nRW 20480 SPARSE \"disk\"\n\n"
    "# The Disk Data Base\n#DDB\n\nddb.longContentID = \"f3570dca1b23005d72acf7e9936db7e4\"\n"
    "ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"2\"\nddb.geometry.heads = \"255\"\n"
    "ddb.geometry.sectors = \"63\"\nddb.adapterType = \"lsilogic\"\nddb.toolsInstallType = \"4\"\n"
    "ddb.toolsVersion = \"2147483647\"\n",
    // CBT, version 3, change tracking section after the extents
    "# Disk DescriptorFile\nversion=3\nCID=01020304\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n"
    "# Extent description\nRW 2048 VMFS \"cbt-flat.vmdk\"\n\n# Change Tracking File\n"
    "changeTrackPath=\"cbt-ctk.vmdk\"\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\n",
};

}  // namespace

TEST_CASE("canonical descriptors print back byte for byte", "[descriptor]") {
  for (const std::string& text : kCanonical) {
    INFO(text);
    Descriptor d = parse(text);
    CHECK(d.print() == text);
    check_round_trip(d);
  }
}

TEST_CASE("reference descriptors answer their accessors", "[descriptor]") {
  Descriptor mono = parse(kCanonical[0]);
  CHECK(mono.version() == 1);
  CHECK(mono.cid() == 0x9ae2339u);
  CHECK(mono.parent_cid() == vmdk::kNoParentCid);
  CHECK(mono.create_type() == "monolithicSparse");
  CHECK(!mono.parent_file_name_hint());
  CHECK(!mono.encoding());
  REQUIRE(mono.extents().size() == 1);
  CHECK(mono.extents()[0] == ExtentLine{ExtentAccess::rw, 204800, ExtentType::sparse, "mono.vmdk", {}, {}});
  CHECK(mono.ddb("ddb.adapterType") == "ide");
  CHECK(mono.ddb("DDB.ADAPTERTYPE") == "ide");
  CHECK(mono.ddb_entries().size() == 6);
  CHECK(mono.ddb_entries()[1] == std::pair<std::string, std::string>{"ddb.geometry.cylinders", "203"});

  Descriptor child = parse(kCanonical[1]);
  CHECK(child.parent_cid() == 0x9ae2339u);
  CHECK(child.parent_file_name_hint() == "base.vmdk");

  Descriptor esxi = parse(kCanonical[8]);
  CHECK(esxi.version() == 2);
  CHECK(esxi.encoding() == "UTF-8");
  CHECK(esxi.header("isNativeSnapshot") == "no");
  CHECK(esxi.extents().at(0).type == ExtentType::vmfssparse);
  CHECK(esxi.extents().at(0).sectors == 1048576000u);
  CHECK(esxi.lines().at(11).value == "# The Disk Data Base ");

  Descriptor vmfs = parse(kCanonical[6]);
  CHECK(vmfs.extents().at(0).type == ExtentType::vmfs);
  CHECK(!vmfs.extents().at(0).offset);

  Descriptor cbt = parse(kCanonical[10]);
  CHECK(cbt.version() == 3);
  CHECK(cbt.header("changeTrackPath") == "cbt-ctk.vmdk");
  CHECK(cbt.header_entries().back() ==
        std::pair<std::string, std::string>{"changeTrackPath", "cbt-ctk.vmdk"});
}

TEST_CASE("every create type is kept as text", "[descriptor]") {
  for (std::string type : {"monolithicSparse",
                           "monolithicFlat",
                           "twoGbMaxExtentSparse",
                           "2GbMaxExtentSparse",
                           "twoGbMaxExtentFlat",
                           "2GbMaxExtentFlat",
                           "streamOptimized",
                           "vmfs",
                           "vmfsPreallocated",
                           "vmfsEagerZeroedThick",
                           "vmfsThin",
                           "vmfsThick",
                           "vmfsSparse",
                           "seSparse",
                           "vmfsSeSparse",
                           "vmfsRawDeviceMap",
                           "vmfsRDM",
                           "vmfsPassthroughRawDeviceMap",
                           "vmfsRDMP",
                           "vmfsRaw",
                           "fullDevice",
                           "partitionedDevice",
                           "custom",
                           "somethingNew"}) {
    std::string text = "version=1\nCID=1\nparentCID=ffffffff\ncreateType=\"" + type + "\"\n";
    Descriptor d = parse(text);
    CHECK(d.create_type() == type);
    CHECK(d.print() == text);
  }
}

TEST_CASE("every extent access and type, any case", "[descriptor]") {
  struct Case {
    std::string line;
    ExtentLine extent;
    std::string printed;
  };
  std::vector<Case> cases = {
      {"RW 204800 SPARSE \"x.vmdk\"",
       {ExtentAccess::rw, 204800, ExtentType::sparse, "x.vmdk", {}, {}},
       "RW 204800 SPARSE \"x.vmdk\""},
      {"rw 2048 flat \"x-flat.vmdk\" 0",
       {ExtentAccess::rw, 2048, ExtentType::flat, "x-flat.vmdk", 0, {}},
       "RW 2048 FLAT \"x-flat.vmdk\" 0"},
      {"RDONLY 100 Zero", {ExtentAccess::rdonly, 100, ExtentType::zero, "", {}, {}}, "RDONLY 100 ZERO"},
      {"RW 100 ZERO ", {ExtentAccess::rw, 100, ExtentType::zero, "", {}, {}}, "RW 100 ZERO"},  // VirtualBox
      {"NoAccess 41943040 VMFS \"x-flat.vmdk\"",
       {ExtentAccess::noaccess, 41943040, ExtentType::vmfs, "x-flat.vmdk", {}, {}},
       "NOACCESS 41943040 VMFS \"x-flat.vmdk\""},
      {"RW 8 VMFSSPARSE \"d-delta.vmdk\"",
       {ExtentAccess::rw, 8, ExtentType::vmfssparse, "d-delta.vmdk", {}, {}},
       "RW 8 VMFSSPARSE \"d-delta.vmdk\""},
      {"RW 8 sesparse \"d-sesparse.vmdk\"",
       {ExtentAccess::rw, 8, ExtentType::sesparse, "d-sesparse.vmdk", {}, {}},
       "RW 8 SESPARSE \"d-sesparse.vmdk\""},
      {"RW 8 VMFSRDM \"d-rdm.vmdk\"",
       {ExtentAccess::rw, 8, ExtentType::vmfsrdm, "d-rdm.vmdk", {}, {}},
       "RW 8 VMFSRDM \"d-rdm.vmdk\""},
      {"RW 8 VMFSRAW \"/vmfs/devices/disks/naa.1\"",
       {ExtentAccess::rw, 8, ExtentType::vmfsraw, "/vmfs/devices/disks/naa.1", {}, {}},
       "RW 8 VMFSRAW \"/vmfs/devices/disks/naa.1\""},
      {"RW\t63  FLAT   \"\\\\.\\PhysicalDrive0\"\t2048 partuuid \"dev id\"",
       {ExtentAccess::rw, 63, ExtentType::flat, "\\\\.\\PhysicalDrive0", 2048, {"partuuid", "\"dev id\""}},
       "RW 63 FLAT \"\\\\.\\PhysicalDrive0\" 2048 partuuid \"dev id\""},
      {"RW 4 FLAT \"my disk \xc3\xa9\xe6\x97\xa5.vmdk\" 7",
       {ExtentAccess::rw, 4, ExtentType::flat, "my disk \xc3\xa9\xe6\x97\xa5.vmdk", 7, {}},
       "RW 4 FLAT \"my disk \xc3\xa9\xe6\x97\xa5.vmdk\" 7"},
      {"RW 4 FLAT unquoted.vmdk 0",
       {ExtentAccess::rw, 4, ExtentType::flat, "unquoted.vmdk", 0, {}},
       "RW 4 FLAT \"unquoted.vmdk\" 0"},
      {"RW 0 SPARSE \"empty.vmdk\"",
       {ExtentAccess::rw, 0, ExtentType::sparse, "empty.vmdk", {}, {}},
       "RW 0 SPARSE \"empty.vmdk\""},
      {"RW 36028797018963967 ZERO",
       {ExtentAccess::rw, 36028797018963967ull, ExtentType::zero, "", {}, {}},
       "RW 36028797018963967 ZERO"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    Descriptor d = parse("version=1\n" + c.line + "\n");
    REQUIRE(d.extents().size() == 1);
    CHECK(d.extents()[0] == c.extent);
    CHECK(d.lines().at(1).kind == vmdk::DescriptorLine::Kind::extent);
    CHECK(d.print() == "version=1\n" + c.printed + "\n");
    check_round_trip(d);
  }
  CHECK(vmdk::to_string(ExtentAccess::rdonly) == "RDONLY");
  CHECK(vmdk::to_string(ExtentAccess::noaccess) == "NOACCESS");
  CHECK(vmdk::to_string(ExtentType::vmfssparse) == "VMFSSPARSE");
  CHECK(vmdk::to_string(ExtentType::zero) == "ZERO");
}

TEST_CASE("CRLF text parses like LF text and prints LF", "[descriptor]") {
  std::string crlf;
  for (char c : kCanonical[0]) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  Descriptor d = parse(crlf);
  CHECK(d == parse(kCanonical[0]));
  CHECK(d.print() == kCanonical[0]);
}

TEST_CASE("descriptor without signature, comments anywhere, spaces and tabs around '='", "[descriptor]") {
  std::string text =
      "\n  # leading comment\nversion = 1\n\tCID\t=\t\"1a\"  \nparentCID= FFFFFFFF\n# mid\n"
      "createType =\"vmfs\"\nRW 10 VMFS \"a b.vmdk\"\n   # indented\nddb.adapterType=\"ide\"\n"
      "ddb.plain =  some words  \nlast.key=tail";
  Descriptor d = parse(text);
  CHECK(d.version() == 1);
  CHECK(d.cid() == 0x1au);
  CHECK(d.parent_cid() == 0xffffffffu);
  CHECK(d.create_type() == "vmfs");
  CHECK(d.lines().at(1).value == "  # leading comment");
  CHECK(d.lines().at(3).quoted);
  CHECK(!d.lines().at(4).quoted);
  CHECK(d.ddb("ddb.plain") == "some words");
  CHECK(d.header("LAST.KEY") == "tail");
  CHECK(d.print() ==
        "\n  # leading comment\nversion=1\nCID=\"1a\"\nparentCID=FFFFFFFF\n# mid\ncreateType=\"vmfs\"\n"
        "RW 10 VMFS \"a b.vmdk\"\n   # indented\nddb.adapterType = \"ide\"\nddb.plain = some words\n"
        "last.key=tail\n");
  check_round_trip(d);
}

TEST_CASE("unknown header keys and ddb entries keep their order", "[descriptor]") {
  std::string text =
      "version=1\nzeta=\"1\"\nCID=ffffffff\nalpha=2\nparentCID=ffffffff\nmiddle=\"x y\"\n"
      "createType=\"custom\"\nRW 1 ZERO\nddb.z = \"1\"\nddb.a = \"2\"\nddb.m = \"3\"\n";
  Descriptor d = parse(text);
  std::vector<std::pair<std::string, std::string>> headers = {
      {"version", "1"},          {"zeta", "1"},     {"CID", "ffffffff"},     {"alpha", "2"},
      {"parentCID", "ffffffff"}, {"middle", "x y"}, {"createType", "custom"}};
  CHECK(d.header_entries() == headers);
  std::vector<std::pair<std::string, std::string>> ddb = {{"ddb.z", "1"}, {"ddb.a", "2"}, {"ddb.m", "3"}};
  CHECK(d.ddb_entries() == ddb);
  CHECK(d.print() == text);
}

TEST_CASE("CIDs of one to eight hex digits, quoted or not", "[descriptor]") {
  CHECK(parse("version=1\nCID=0\n").cid() == 0u);
  CHECK(parse("version=1\nCID=9ae2339\n").cid() == 0x9ae2339u);
  CHECK(parse("version=1\nCID=\"DeadBeef\"\n").cid() == 0xdeadbeefu);
  CHECK(parse("version=1\ncid=7\nparentcid=\"00000001\"\n").parent_cid() == 1u);
  CHECK(!parse("version=1\n").cid());
  CHECK(parse("version=1\n").parent_cid() == vmdk::kNoParentCid);
  CHECK(parse("# only a version\nversion=1").version() == 1);
}

TEST_CASE("text stops at NUL padding; text after a NUL is refused", "[descriptor]") {
  std::string text = kCanonical[0];
  CHECK(parse(text + std::string(512, '\0')) == parse(text));
  // Lines after a NUL would be dropped without a word (issue 14: a 0-byte disk when they are the
  // extent lines), so binary data where lines are expected is a FormatError at the NUL.
  std::string padded = text + std::string(512, '\0') + "garbage\xff";
  CHECK_THROWS_AS(parse(padded), vmdk::FormatError);
  std::string cut = "version=1\nRW 10 ZERO\n";
  cut += '\0';
  cut += "RW bad line\n";
  CHECK_THROWS_WITH(parse(cut), Catch::Contains("NUL byte at 0x15"));
}

namespace {
struct ErrorCase {
  std::string text;
  std::string message;  // exact message (without the file)
  std::uint64_t offset;
};

void check_error(const ErrorCase& c) {
  INFO(c.text);
  try {
    parse(c.text);
    FAIL("no error");
  } catch (const vmdk::FormatError& e) {
    CHECK(e.message() == c.message);
    CHECK(e.offset() == c.offset);
    CHECK(e.file() == "test.vmdk");
    CHECK(std::string(e.what()) == "test.vmdk: " + c.message);
  }
}
}  // namespace

TEST_CASE("malformed descriptors are refused with line and offset", "[descriptor]") {
  const std::string head = "# Disk DescriptorFile\nversion=1\n";  // 32 bytes, lines 1-2
  std::vector<ErrorCase> cases = {
      {head + "CID=fffffffe\nparentCID=ffffffff\ncreateType=\"x\"\n\n# c\nRW 12x SPARSE \"a\"\n",
       "line 8: extent line has a bad sector count \"12x\"", 32 + 13 + 19 + 15 + 1 + 4},
      {head + "RW\n", "line 3: extent line has no sector count", 32},
      {head + "RW 10\n", "line 3: extent line has no extent type", 32},
      {head + "RW 10 FOO \"a\"\n", "line 3: extent line has an unknown extent type \"FOO\"", 32},
      {head + "RW 10 FLAT\n", "line 3: extent line has no file name (FLAT extents need one)", 32},
      {head + "RW 10 SPARSE \"\"\n", "line 3: extent line has no file name (SPARSE extents need one)", 32},
      {head + "RW 10 FLAT \"a.vmdk 0\n", "line 3: extent line has an unterminated quote", 32},
      {head + "RW 10 FLAT \"a\"0\n", "line 3: extent line has text right after a closing quote", 32},
      {head + "RW 10 FLAT \"a\" x1\n", "line 3: extent line has a bad offset \"x1\"", 32},
      {head + "RW -1 FLAT \"a\" 0\n", "line 3: extent line has a bad sector count \"-1\"", 32},
      {head + "RW 18446744073709551616 ZERO\n",
       "line 3: extent line has a bad sector count \"18446744073709551616\"", 32},
      {head + "RW 36028797018963968 ZERO\n",
       "line 3: extent line sector count 36028797018963968 is too large (its byte size overflows 64 bits)",
       32},
      {head + "RW 10 FLAT \"a\" 36028797018963968\n",
       "line 3: extent line offset 36028797018963968 is too large (its byte size overflows 64 bits)", 32},
      {head + "RW 36028797018963967 ZERO\nRW 1 ZERO\n", "line 4: extents add up to more than 2^64 bytes",
       32 + 26},
      {head + "RW 10 FLAT a\"b 0\n", "line 3: extent line has a bad file name \"a\\x22b\"", 32},
      {head + "CID=123456789\n",
       "line 3: header CID has a bad value \"123456789\" (expected 1 to 8 hex digits)", 32},
      {head + "CID=\n", "line 3: header CID has a bad value \"\" (expected 1 to 8 hex digits)", 32},
      {head + "parentCID=xyz\n",
       "line 3: header parentCID has a bad value \"xyz\" (expected 1 to 8 hex digits)", 32},
      {head + "createType=\"abc\n", "line 3: header line has an unterminated quote", 32},
      {head + "createType=\"abc\" x\n", "line 3: header line has text after the closing quote: \" x\"", 32},
      {head + "ddb.x = \"v\" y\n", "line 3: ddb entry has text after the closing quote: \" y\"", 32},
      {head + "ddb.x\n", "line 3: ddb entry has no '='", 32},
      {head + "a b=1\n", "line 3: header line has a bad key \"a b\"", 32},
      {head + "=1\n", "line 3: header line has an empty key", 32},
      {head + "hello world\n", "line 3: line is not a header key, extent or ddb entry: \"hello world\"", 32},
      {head + "\x01\xff\n", "line 3: line is not a header key, extent or ddb entry: \"\\x01\\xff\"", 32},
      {"# x\nRW 10 ZERO\nversion=1\n", "line 2: extent line before any version key (not a descriptor)", 4},
      {"CID=1\nddb.a = \"b\"\nversion=1\n", "line 2: ddb entry before any version key (not a descriptor)", 6},
      {"", "not a descriptor: no version key", 0},
      {"# Disk DescriptorFile\nCID=1\n", "not a descriptor: no version key", 0},
      {"version=x\n", "line 1: header version has a bad value \"x\"", 0},
      {"\r\nversion=1\r\nRW 1x ZERO\r\n", "line 3: extent line has a bad sector count \"1x\"", 13},
  };
  for (const ErrorCase& c : cases) check_error(c);

  std::string many = "version=1\n";
  for (int i = 0; i < 9999; ++i) many += "# c\n";
  CHECK_NOTHROW(parse(many));
  check_error({many + "# one too many\n", "line 10001: descriptor has more than 10000 lines", 10 + 9999 * 4});
}

TEST_CASE("unsupported descriptor versions", "[descriptor]") {
  for (std::string version : {"0", "4", "99999999999999999999999"}) {
    try {
      parse("# Disk DescriptorFile\nversion=" + version + "\n");
      FAIL("no error");
    } catch (const vmdk::UnsupportedError& e) {
      CHECK(e.message() ==
            "line 2: unsupported descriptor version \"" + version + "\" (1, 2 and 3 are known)");
      CHECK(e.offset() == 22u);
    }
  }
  CHECK(parse("version=\"3\"\n").version() == 3);
}

TEST_CASE("edits keep positions and stay printable", "[descriptor]") {
  Descriptor d = parse(kCanonical[0]);
  d.set_header("cid", "deadbeef", false);
  CHECK(d.cid() == 0xdeadbeefu);
  CHECK(d.lines().at(2).key == "CID");  // the file's spelling and position stay
  d.set_header("parentFileNameHint", "base.vmdk", true);
  CHECK(d.lines().at(5).key == "parentFileNameHint");  // after the last header line
  CHECK(d.parent_file_name_hint() == "base.vmdk");
  d.remove_header("PARENTFILENAMEHINT");
  CHECK(!d.parent_file_name_hint());
  d.set_ddb("ddb.adapterType", "lsilogic");
  d.set_ddb("ddb.uuid", "60 00 C2 9f");
  CHECK(d.ddb("ddb.adapterType") == "lsilogic");
  CHECK(d.ddb_entries().back() == std::pair<std::string, std::string>{"ddb.uuid", "60 00 C2 9f"});
  check_round_trip(d);

  CHECK_THROWS_AS(d.set_header("CID", "xyz", false), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_header("version", "4", false), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_header("createType", "a\"b", true), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_header("createType", "a\nb", true), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_header("a key", "1", false), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_header("ddb.x", "1", false), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_header("x", " padded", false), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_ddb("adapterType", "ide"), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_ddb("ddb.x", "q\"q"), vmdk::UsageError);
  check_round_trip(d);

  // Same count: positions stay.
  std::vector<ExtentLine> one = {{ExtentAccess::rdonly, 100, ExtentType::flat, "b.vmdk", 3, {}}};
  d.set_extents(one);
  CHECK(d.lines().at(7).kind == vmdk::DescriptorLine::Kind::extent);
  CHECK(d.extents() == one);
  // New count: one block where the old lines were.
  std::vector<ExtentLine> three = {{ExtentAccess::rw, 10, ExtentType::sparse, "s1.vmdk", {}, {}},
                                   {ExtentAccess::rw, 5, ExtentType::zero, "", {}, {}},
                                   {ExtentAccess::rw, 10, ExtentType::vmfs, "v.vmdk", {}, {}}};
  d.set_extents(three);
  CHECK(d.lines().at(6).value == "# Extent description");
  for (std::size_t i = 0; i < 3; ++i) CHECK(d.lines().at(7 + i).extent_index == i);
  CHECK(d.lines().at(10).kind == vmdk::DescriptorLine::Kind::blank);
  check_round_trip(d);
  d.set_extents({});
  CHECK(d.extents().empty());
  d.set_extents(one);
  CHECK(d.lines().at(7).kind == vmdk::DescriptorLine::Kind::extent);  // after "# Extent description"
  check_round_trip(d);

  CHECK_THROWS_AS(d.set_extents({{ExtentAccess::rw, 1, ExtentType::flat, "", 0, {}}}), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_extents({{ExtentAccess::rw, 1, ExtentType::flat, "a\"b", 0, {}}}), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_extents({{ExtentAccess::rw, 1ull << 60, ExtentType::zero, "", {}, {}}}),
                  vmdk::UsageError);
  CHECK_THROWS_AS(d.set_extents({{ExtentAccess::rw, 1, ExtentType::flat, "a", {}, {"x"}}}), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_extents({{ExtentAccess::rw, 1ull << 54, ExtentType::zero, "", {}, {}},
                                 {ExtentAccess::rw, 1ull << 54, ExtentType::zero, "", {}, {}}}),
                  vmdk::UsageError);
  CHECK(d.extents() == one);

  Descriptor bare = parse("# Disk DescriptorFile\n\nversion=1\n");
  bare.set_extents(one);
  CHECK(bare.print() == "# Disk DescriptorFile\n\nversion=1\nRDONLY 100 FLAT \"b.vmdk\" 3\n");
  check_round_trip(bare);
}

TEST_CASE("looks_like_descriptor", "[descriptor]") {
  CHECK(vmdk::looks_like_descriptor(kCanonical[0]));
  CHECK(vmdk::looks_like_descriptor("version=1"));
  CHECK(vmdk::looks_like_descriptor("\r\n\n  # c\r\n\tVERSION \t= 1\r\n"));
  CHECK(vmdk::looks_like_descriptor("\xEF\xBB\xBFversion=1\n"));
  CHECK(!vmdk::looks_like_descriptor(""));
  CHECK(!vmdk::looks_like_descriptor("# Disk DescriptorFile\n"));
  CHECK(!vmdk::looks_like_descriptor("CID=1\nversion=1\n"));
  CHECK(!vmdk::looks_like_descriptor("versions=1\n"));
  CHECK(!vmdk::looks_like_descriptor("version\n=1\n"));
  CHECK(!vmdk::looks_like_descriptor(std::string_view("KDMV\x01\0\0\0\x03\0\0\0", 12)));
  CHECK(!vmdk::looks_like_descriptor(std::string_view("# x\n\0version=1\n", 15)));
  std::mt19937_64 random(7);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(random() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(random() % 256);
    CHECK_NOTHROW(vmdk::looks_like_descriptor(junk));
  }
}

namespace {

// Builds random descriptor text from the pieces real producers use, plus the liberal variants
// (case, spacing, CRLF, quotes, comments anywhere, odd bytes in names).
class Generator {
 public:
  explicit Generator(std::uint64_t seed) : random_(seed) {}

  std::string text() {
    std::vector<std::string> lines;
    if (chance(2)) lines.push_back(pick({"# Disk DescriptorFile", "#Disk Descriptor File", "  # x"}));
    sprinkle(lines);
    lines.push_back(word("version") + spaces() + "=" + spaces() + maybe_quoted(pick({"1", "2", "3"})));
    std::vector<std::string> headers = {
        "CID=" + hex_cid(),
        "parentCID=" + hex_cid(),
        "createType=\"" + pick({"vmfs", "monolithicSparse", "custom", "new"}) + "\"",
        "encoding=\"UTF-8\"",
        "isNativeSnapshot=\"no\"",
        "parentFileNameHint=\"" + name() + "\"",
        "changeTrackPath=\"x-ctk.vmdk\"",
        "unknown.key" + spaces() + "=" + spaces() + maybe_quoted("v" + name_plain()),
        "empty=",
        "quotedEmpty=\"\""};
    for (const std::string& h : headers) {
      if (chance(3)) lines.push_back(h);
      sprinkle(lines);
    }
    int extents = static_cast<int>(random_() % 5);
    for (int i = 0; i < extents; ++i) lines.push_back(extent());
    sprinkle(lines);
    int ddb = static_cast<int>(random_() % 6);
    for (int i = 0; i < ddb; ++i) {
      lines.push_back(word("ddb.") + pick({"adapterType", "uuid", "geometry.heads", "x"}) + spaces() + "=" +
                      spaces() + maybe_quoted(name_plain()));
      sprinkle(lines);
    }
    std::string out;
    bool crlf = chance(4);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      out += lines[i];
      if (i + 1 < lines.size() || chance(2)) out += crlf ? "\r\n" : "\n";
    }
    return out;
  }

 private:
  bool chance(unsigned one_in) { return random_() % one_in == 0; }
  std::string pick(std::vector<std::string> options) { return options[random_() % options.size()]; }
  std::string spaces() { return pick({"", "", " ", "\t", "  "}); }
  std::string word(std::string w) {
    for (char& c : w) {
      if (chance(4) && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return w;
  }
  std::string hex_cid() {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%x", static_cast<unsigned>(random_() & 0xffffffffu));
    return buffer;
  }
  std::string maybe_quoted(const std::string& v) { return chance(2) ? "\"" + v + "\"" : v; }
  std::string name_plain() { return pick({"a", "disk-flat.vmdk", "x_y", "\xc3\xa9t\xc3\xa9", "1"}); }
  std::string name() {
    return pick({"a.vmdk", "with space.vmdk", "\xe6\x97\xa5\xe6\x9c\xac.vmdk", "C:\\vm\\b.vmdk", " lead"});
  }
  void sprinkle(std::vector<std::string>& lines) {
    if (chance(4)) lines.push_back(pick({"", "  ", "# comment", "\t# The Disk Data Base ", "#DDB", "\r"}));
  }
  std::string extent() {
    std::string line = word(pick({"rw", "rdonly", "noaccess"})) + " " +
                       std::to_string(random_() % 100000000) + pick({" ", "  ", "\t"});
    std::string type =
        pick({"flat", "sparse", "zero", "vmfs", "vmfssparse", "sesparse", "vmfsrdm", "vmfsraw"});
    line += word(type);
    if (type == "zero") return line + pick({"", " "});
    line += " \"" + name() + "\"";
    if (chance(2)) {
      line += " " + std::to_string(random_() % 5000);
      if (chance(3)) line += " uuid" + pick({"", " \"dev 1\""});
    }
    return line;
  }

  std::mt19937_64 random_;
};

}  // namespace

TEST_CASE("parse(print(d)) == d over generated descriptors", "[descriptor][property]") {
  Generator generator(20240601);
  for (int i = 0; i < 3000; ++i) {
    std::string text = generator.text();
    INFO(text);
    Descriptor d = parse(text);
    check_round_trip(d);
  }
}

TEST_CASE("mutated descriptors only ever throw vmdk::Error", "[descriptor][robustness]") {
  std::mt19937_64 random(99);
  Generator generator(5);
  std::vector<std::string> seeds(kCanonical.begin(), kCanonical.end());
  for (int i = 0; i < 20; ++i) seeds.push_back(generator.text());
  using namespace std::string_literals;
  const std::string bytes = "\0\n\r\t \"=#.-x0123456789fF"s;
  int parsed = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string text = seeds[random() % seeds.size()];
    int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      std::size_t at = random() % text.size();
      switch (random() % 5) {
        case 0:
          text[at] = static_cast<char>(random() % 256);
          break;
        case 1:
          text[at] = bytes[random() % bytes.size()];
          break;
        case 2:
          text.erase(at, 1 + random() % 8);
          break;
        case 3:
          text.insert(at, 1, bytes[random() % bytes.size()]);
          break;
        case 4:
          text.resize(at);
          break;
      }
    }
    INFO(text);
    try {
      Descriptor d = parse(text);
      ++parsed;
      check_round_trip(d);
      (void)d.cid();
      (void)d.parent_cid();
      (void)d.version();
    } catch (const vmdk::Error&) {
      // refusing damaged text is the expected outcome
    }
    CHECK_NOTHROW(vmdk::looks_like_descriptor(text));
  }
  CHECK(parsed > 0);
}

TEST_CASE("sample descriptors made by VMware and ESXi", "[descriptor][samples]") {
  namespace fs = std::filesystem;
  fs::path root = VMDKIT_SAMPLES_DIR;
  if (!fs::exists(root)) {
    WARN("samples absent: skipped");
    return;
  }
  int seen = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".vmdk" || entry.file_size() > 64 * 1024) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    if (!vmdk::looks_like_descriptor(text)) continue;
    INFO(entry.path().string());
    Descriptor d = Descriptor::parse(text, entry.path().filename().string());
    CHECK(d.print() == text);  // samples are canonical LF text
    CHECK(!d.extents().empty());
    CHECK(d.cid());
    check_round_trip(d);
    ++seen;
  }
  CHECK(seen >= 5);
}

// Found by fuzz_descriptor (tests/fuzz/regressions/descriptor): an extent block added to a
// descriptor whose "# Extent description" comment stands above version= must come after version=,
// and a key may not start with a byte-order mark (print would move it to the start of the text,
// where parse drops it).
TEST_CASE("fuzz findings: extents added after version=, keys with a byte-order mark", "[descriptor]") {
  Descriptor d = Descriptor::parse("# Extent description\nversion=2\n", "fuzz.vmdk");
  d.set_extents({{ExtentAccess::rw, 8, ExtentType::zero, "", {}, {}}});
  const Descriptor again = Descriptor::parse(d.print(), "fuzz.vmdk");
  CHECK(again == d);
  REQUIRE(again.extents().size() == 1);
  CHECK_THROWS_AS(Descriptor::parse("version=1\n\t\xEF\xBB\xBFkey=v\n", "fuzz.vmdk"), vmdk::FormatError);
}

namespace {

// text parsed, edited, and printed as it would be stored back.
template <typename Edit>
std::string edited(const std::string& text, Edit&& edit) {
  Descriptor d = parse(text);
  edit(d);
  const std::string stored = d.print_preserving();
  REQUIRE(parse(stored) == d);  // the stored text reads back as the edited descriptor
  return stored;
}

// A descriptor as other tools write it: CRLF and LF mixed, odd spacing and tabs, keys in other
// case, comments with trailing blanks, an unknown key, an unquoted value, extra extent fields.
const std::string kOdd =
    "\xEF\xBB\xBF# Disk DescriptorFile  \r\n"
    "VERSION = 1\r\n"
    "cid\t=\t1A2B3C4D   \r\n"
    "ParentCID=ffffffff\n"
    "createType =  \"vmfs\"\r\n"
    "  # a comment, indented\r\n"
    "someVendorKey = whatever it says\r\n"
    "\r\n"
    "RW   2048\tVMFS   \"disk-flat.vmdk\"   \r\n"
    "RDONLY 8 FLAT \"other.vmdk\" 4  part 7\n"
    "\n"
    "ddb.adapterType=\"lsilogic\"\r\n"
    "DDB.Uuid  =  \"60 00 C2 9f\"";

}  // namespace

TEST_CASE("print_preserving keeps every untouched line byte for byte", "[descriptor]") {
  const Descriptor d = parse(kOdd);
  CHECK(d.print_preserving() == kOdd);
  // Canonical printing is unchanged by the raw text kept beside each line.
  CHECK(d.print() == parse(d.print()).print());
  CHECK(parse(d.print()) == d);
  // NUL padding after the text (a descriptor copied out of an embedded area) stays too.
  const std::string padded = "version=1\r\nCID=1\r\n" + std::string(5, '\0');
  CHECK(parse(padded).print_preserving() == padded);
  // Lines made by code print canonically with LF.
  Descriptor made;
  made.set_header("version", "1", false);
  made.set_ddb("ddb.adapterType", "ide");
  CHECK(made.print_preserving() == made.print());
}

TEST_CASE("an edit changes only its own line and keeps its spelling, spacing and ending", "[descriptor]") {
  const auto with_line = [&](std::size_t number, const std::string& line) {
    std::string out;
    std::size_t pos = 0;
    for (std::size_t n = 1; pos < kOdd.size(); ++n) {
      std::size_t end = kOdd.find('\n', pos);
      end = end == std::string::npos ? kOdd.size() : end + 1;
      out += n == number ? line : kOdd.substr(pos, end - pos);
      pos = end;
    }
    return out;
  };
  CHECK(edited(kOdd, [](Descriptor& d) { d.set_cid(0xabcd); }) == with_line(3, "cid\t=\t0000abcd\r\n"));
  CHECK(edited(kOdd, [](Descriptor& d) { d.set_parent_cid(0x12345678); }) ==
        with_line(4, "ParentCID=12345678\n"));
  CHECK(edited(kOdd, [](Descriptor& d) { d.set_header("createtype", "vmfsSparse", true); }) ==
        with_line(5, "createType =  \"vmfsSparse\"\r\n"));
  CHECK(edited(kOdd, [](Descriptor& d) { d.set_header("SOMEVENDORKEY", "other", false); }) ==
        with_line(7, "someVendorKey = other\r\n"));
  CHECK(edited(kOdd, [](Descriptor& d) { d.set_ddb("ddb.adapterType", "ide"); }) ==
        with_line(12, "ddb.adapterType=\"ide\"\r\n"));
  // The last line has no line ending; an edit does not add one.
  CHECK(edited(kOdd, [](Descriptor& d) { d.set_ddb("ddb.uuid", "1"); }) ==
        with_line(13, "DDB.Uuid  =  \"1\""));
  // The first line keeps its byte-order mark whatever follows it.
  CHECK(edited(kOdd, [](Descriptor& d) { d.set_header("version", "2", false); }) ==
        with_line(2, "VERSION = 2\r\n"));
  // Extent file names: only the name field changes; the other fields keep their spacing.
  CHECK(edited(kOdd, [](Descriptor& d) { d.set_extent_file(0, "renamed-flat.vmdk"); }) ==
        with_line(9, "RW   2048\tVMFS   \"renamed-flat.vmdk\"   \r\n"));
  CHECK(edited(kOdd, [](Descriptor& d) { d.set_extent_file(1, "b.vmdk"); }) ==
        with_line(10, "RDONLY 8 FLAT \"b.vmdk\" 4  part 7\n"));
  // Any other change to an extent line prints it canonically, with its old line ending.
  CHECK(edited(kOdd, [](Descriptor& d) {
          std::vector<ExtentLine> extents = d.extents();
          extents[0].sectors = 4096;
          d.set_extents(extents);
        }) == with_line(9, "RW 4096 VMFS \"disk-flat.vmdk\"\r\n"));
}

TEST_CASE("lines added or removed leave the others as they were", "[descriptor]") {
  // A new header goes after the last header line, canonical with LF (as VMware-written CRLF
  // descriptors edited by vmdkit always were).
  CHECK(edited("version=1\r\nCID=1\r\n\r\nRW 8 SPARSE \"x\"\r\n", [](Descriptor& d) {
          d.set_parent_file_name_hint("a.vmdk");
        }) == "version=1\r\nCID=1\r\nparentFileNameHint=\"a.vmdk\"\n\r\nRW 8 SPARSE \"x\"\r\n");
  // After a last line without line ending, an added line starts a line of its own.
  CHECK(edited("version=1\nddb.a = \"1\"", [](Descriptor& d) { d.set_ddb("ddb.b", "2"); }) ==
        "version=1\nddb.a = \"1\"\nddb.b = \"2\"\n");
  CHECK(edited(kOdd, [](Descriptor& d) { d.remove_ddb("ddb.adapterType"); }).find("lsilogic") ==
        std::string::npos);
  const std::string removed = edited("version=1\r\n# keep  \r\nx = 1\r\nddb.y = \"2\"\r\n",
                                     [](Descriptor& d) { d.remove_line(d.lines_of("X").at(0)); });
  CHECK(removed == "version=1\r\n# keep  \r\nddb.y = \"2\"\r\n");
}

TEST_CASE("raw-preserving edits are checked like canonical ones", "[descriptor]") {
  Descriptor d = parse(kOdd);
  const std::string before = d.print_preserving();
  CHECK_THROWS_AS(d.set_parent_file_name_hint("a\"b"), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_header("createType", "a\nb", true), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_extent_file(0, "a\"b"), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_extent_file(2, "c.vmdk"), vmdk::UsageError);
  CHECK_THROWS_AS(d.set_line_value(0, "x", false), vmdk::UsageError);   // a comment
  CHECK_THROWS_AS(d.set_line_value(99, "x", false), vmdk::UsageError);  // past the end
  CHECK_THROWS_AS(d.remove_line(8), vmdk::UsageError);                  // an extent line
  CHECK(d.print_preserving() == before);                                // a refused edit changes nothing
  CHECK(d.lines_of("ddb.uuid") == std::vector<std::size_t>{12});
  CHECK(vmdk::is_ddb_key("DDB.x"));
  CHECK(!vmdk::is_ddb_key("ddbx"));
}

// Moved from new_disk_test.cpp, where they tested ops::with_header_value (which Descriptor replaced):
// the stored bytes of these edits are what they were.
TEST_CASE("header edits change only the value, keep line endings, and add missing keys", "[descriptor]") {
  const std::string crlf =
      "# Disk DescriptorFile\r\nversion=1\r\nCID = 1a\r\nparentCID=ffffffff\r\n"
      "createType=\"monolithicSparse\"\r\n\r\nRW 8 SPARSE \"x.vmdk\"\r\n";
  CHECK(edited(crlf, [](Descriptor& d) { d.set_cid(0xabcd); }) ==
        "# Disk DescriptorFile\r\nversion=1\r\nCID = 0000abcd\r\nparentCID=ffffffff\r\n"
        "createType=\"monolithicSparse\"\r\n\r\nRW 8 SPARSE \"x.vmdk\"\r\n");
  CHECK(edited(crlf, [](Descriptor& d) { d.set_parent_cid(0x12345678); }).find("parentCID=12345678\r\n") !=
        std::string::npos);
  // Key match is case-insensitive; DDB keys are never touched.
  const std::string text = "version=1\ncid=1\nddb.cid = \"x\"\n";
  CHECK(edited(text, [](Descriptor& d) { d.set_header("CID", "2", false); }) ==
        "version=1\ncid=2\nddb.cid = \"x\"\n");
  // Absent: added after the last header line.
  CHECK(edited("version=1\nCID=1\n\nRW 8 SPARSE \"x\"\n", [](Descriptor& d) {
          d.set_parent_file_name_hint("a.vmdk");
        }) == "version=1\nCID=1\nparentFileNameHint=\"a.vmdk\"\n\nRW 8 SPARSE \"x\"\n");
}
