// Disk::open and Disk::map/read over descriptor files built in a temp folder: FLAT/VMFS/ZERO
// extents, access modes, split parts, missing and short files, path confinement (DESIGN.md).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "vmdk/disk.hpp"
#include "vmdk/error.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

using namespace vmdk;
namespace fs = std::filesystem;

namespace {

struct TempDir : vmdk_test::TempDir {
  TempDir() : vmdk_test::TempDir("vmdkit-disk") {}
};

std::vector<std::uint8_t> pattern(std::size_t size, unsigned seed) {
  std::vector<std::uint8_t> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>((i * 31 + seed * 17 + i / 509) & 0xff);
  return bytes;
}

void write_file(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string descriptor(const std::string& extents, const std::string& create_type = "monolithicFlat") {
  return "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"" + create_type +
         "\"\n\n# Extent description\n" + extents + "\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n";
}

std::vector<std::uint8_t> read_all(const Disk& disk) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(disk.capacity()));
  disk.read(0, out);
  return out;
}

using vmdk_test::error_text;

}  // namespace

TEST_CASE("FLAT extent with a sector offset reads from offset*512", "[disk]") {
  TempDir dir;
  auto data = pattern(4096 + 8 * 512, 1);
  write_file(dir / "data.bin", data);
  write_text(dir / "d.vmdk", descriptor("RW 8 FLAT \"data.bin\" 8\n"));
  auto disk = Disk::open(dir / "d.vmdk");
  REQUIRE(disk->capacity() == 4096);
  REQUIRE(disk->complete());
  CHECK(disk->allocated_bytes() == 4096);
  CHECK_FALSE(disk->embedded_descriptor());
  auto out = read_all(*disk);
  CHECK(std::equal(out.begin(), out.end(), data.begin() + 4096));
  std::vector<DiskRun> runs;
  disk->map(0, 4096, runs);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].state == BlockState::data);
  CHECK(runs[0].host_offset == 4096);
  CHECK(disk->extents()[0].path == dir / "data.bin");
}

TEST_CASE("VMFS extent without offset starts at byte 0", "[disk]") {
  TempDir dir;
  auto data = pattern(16 * 512, 2);
  write_file(dir / "x-flat.vmdk", data);
  write_text(dir / "x.vmdk", descriptor("RW 16 VMFS \"x-flat.vmdk\"\n", "vmfs"));
  auto disk = Disk::open(dir / "x.vmdk");
  CHECK(read_all(*disk) == data);
}

TEST_CASE("split flat parts of odd sizes, ZERO and RDONLY extents lie end to end", "[disk]") {
  TempDir dir;
  auto a = pattern(3 * 512, 3);
  auto c = pattern(7 * 512, 4);
  write_file(dir / "x-f001.vmdk", a);
  write_file(dir / "x-f002.vmdk", c);
  write_text(dir / "x.vmdk", descriptor("RW 3 FLAT \"x-f001.vmdk\" 0\nRW 5 ZERO \nRDONLY 7 FLAT \"x-f002.vmdk\" 0\n",
                                        "twoGbMaxExtentFlat"));
  auto disk = Disk::open(dir / "x.vmdk");
  REQUIRE(disk->capacity() == 15 * 512);
  REQUIRE(disk->extents().size() == 3);
  CHECK(disk->extents()[1].start == 3 * 512);
  CHECK(disk->extents()[2].start == 8 * 512);
  CHECK(disk->extents()[1].path.empty());
  CHECK(disk->allocated_bytes() == 10 * 512);

  std::vector<std::uint8_t> expect(a);
  expect.resize(8 * 512, 0);
  expect.insert(expect.end(), c.begin(), c.end());
  CHECK(read_all(*disk) == expect);

  // A read spanning all three extents from an unaligned offset.
  std::vector<std::uint8_t> out(6000, 0xee);
  disk->read(700, out);
  CHECK(std::equal(out.begin(), out.end(), expect.begin() + 700));

  std::vector<DiskRun> runs;
  disk->map(100, 15 * 512 - 200, runs);
  REQUIRE(runs.size() == 3);
  CHECK(runs[0].offset == 100);
  CHECK(runs[0].state == BlockState::data);
  CHECK(runs[0].host_offset == 100);
  CHECK(runs[1].state == BlockState::zero);
  CHECK(runs[1].extent_index == 1);
  CHECK(runs[1].offset == 3 * 512);
  CHECK(runs[2].state == BlockState::data);
  CHECK(runs[2].offset == 8 * 512);
  CHECK(runs[2].host_offset == 0);
  CHECK(runs[2].offset + runs[2].length == 15 * 512 - 100);

  CHECK_THROWS_AS(disk->read(15 * 512 - 10, std::span<std::uint8_t>(out.data(), 20)), UsageError);
}

TEST_CASE("NOACCESS extents map as data without a host offset and refuse reads", "[disk]") {
  TempDir dir;
  write_file(dir / "a.bin", pattern(4 * 512, 5));
  write_file(dir / "b.bin", pattern(4 * 512, 6));
  write_text(dir / "x.vmdk", descriptor("RW 4 FLAT \"a.bin\" 0\nNOACCESS 4 FLAT \"b.bin\" 0\n"));
  auto disk = Disk::open(dir / "x.vmdk");
  std::vector<DiskRun> runs;
  disk->map(0, disk->capacity(), runs);
  REQUIRE(runs.size() == 2);
  CHECK(runs[1].state == BlockState::data);
  CHECK(runs[1].host_offset == kNoHostOffset);
  std::vector<std::uint8_t> out(512);
  CHECK_NOTHROW(disk->read(0, out));
  CHECK_THAT(error_text([&] { disk->read(4 * 512 + 10, out); }), Catch::Contains("NOACCESS"));
}

TEST_CASE("a missing extent file is named, with the descriptor, before its kind is judged", "[disk]") {
  TempDir dir;
  write_text(dir / "x.vmdk", descriptor("RW 8 FLAT \"gone-flat.vmdk\" 0\n"));
  std::string text = error_text([&] { Disk::open(dir / "x.vmdk"); });
  CHECK_THAT(text, Catch::Contains("x.vmdk") && Catch::Contains((dir / "gone-flat.vmdk").string()) &&
                       Catch::Contains("missing"));
  CHECK_THROWS_AS(Disk::open(dir / "x.vmdk"), IoError);

  // An ESXi delta whose data file is absent: missing, not "unsupported".
  write_text(dir / "d.vmdk", descriptor("RW 8 VMFSSPARSE \"d-delta.vmdk\"\n", "vmfsSparse"));
  text = error_text([&] { Disk::open(dir / "d.vmdk"); });
  CHECK_THAT(text, Catch::Contains("missing") && Catch::Contains("d-delta.vmdk"));

  // Present but not a COWD file: a format error naming the file.
  write_file(dir / "d-delta.vmdk", pattern(4096, 7));
  CHECK_THROWS_AS(Disk::open(dir / "d.vmdk"), FormatError);
  text = error_text([&] { Disk::open(dir / "d.vmdk"); });
  CHECK_THAT(text, Catch::Contains("d-delta.vmdk") && Catch::Contains("no COWD magic"));

  // Present but not readable: unsupported, naming the kind.
  write_text(dir / "r.vmdk", descriptor("RW 8 VMFSRDM \"d-delta.vmdk\"\n", "vmfsRawDeviceMap"));
  CHECK_THROWS_AS(Disk::open(dir / "r.vmdk"), UnsupportedError);
  text = error_text([&] { Disk::open(dir / "r.vmdk"); });
  CHECK_THAT(text, Catch::Contains("extent 1 (VMFSRDM") && Catch::Contains("cannot be read"));
}

TEST_CASE("allow_missing_extents opens with problem slots that refuse reads", "[disk]") {
  TempDir dir;
  write_file(dir / "short.bin", pattern(512, 8));
  write_file(dir / "d-delta.vmdk", pattern(4096, 7));
  write_text(dir / "x.vmdk", descriptor("RW 8 FLAT \"gone.bin\" 0\nRW 8 VMFSRDM \"d-delta.vmdk\"\n"
                                        "RW 8 FLAT \"short.bin\" 0\nRW 8 ZERO\n"));
  OpenOptions options;
  options.allow_missing_extents = true;
  auto disk = Disk::open(dir / "x.vmdk", options);
  REQUIRE(disk->extents().size() == 4);
  CHECK_FALSE(disk->complete());
  CHECK(disk->extents()[0].problem.kind == ExtentProblemKind::missing);
  CHECK(disk->extents()[0].problem.text() == "missing");
  CHECK(disk->extents()[0].extent == nullptr);
  CHECK(disk->extents()[1].problem.kind == ExtentProblemKind::unsupported);
  CHECK_THAT(disk->extents()[1].problem.text(), Catch::StartsWith("unsupported: "));
  CHECK(disk->extents()[2].problem.kind == ExtentProblemKind::short_file);
  CHECK_THAT(disk->extents()[2].problem.text(), Catch::StartsWith("short: "));
  CHECK(!disk->extents()[3].problem);
  CHECK(disk->capacity() == 32 * 512);
  std::vector<std::uint8_t> out(512);
  CHECK_THROWS_AS(disk->read(0, out), Error);
  CHECK_NOTHROW(disk->read(24 * 512, out));
}

TEST_CASE("a flat file shorter than its line is a format error, never zeros", "[disk]") {
  TempDir dir;
  write_file(dir / "data.bin", pattern(8 * 512 - 1, 9));
  write_text(dir / "x.vmdk", descriptor("RW 8 FLAT \"data.bin\" 0\n"));
  CHECK_THROWS_AS(Disk::open(dir / "x.vmdk"), FormatError);
  CHECK_THAT(error_text([&] { Disk::open(dir / "x.vmdk"); }),
             Catch::Contains("x.vmdk") && Catch::Contains("extent file is shorter than its descriptor line"));
  // The offset counts: 8 sectors fit at offset 0 of a 9-sector file but not at offset 2.
  write_file(dir / "data.bin", pattern(9 * 512, 9));
  CHECK_NOTHROW(Disk::open(dir / "x.vmdk"));
  write_text(dir / "x.vmdk", descriptor("RW 8 FLAT \"data.bin\" 2\n"));
  CHECK_THROWS_AS(Disk::open(dir / "x.vmdk"), FormatError);
}

TEST_CASE("extent paths stay inside the descriptor's folder", "[disk][safety]") {
  TempDir outside;
  write_file(outside / "secret.bin", pattern(8 * 512, 10));
  TempDir dir;
  fs::create_directories(dir / "sub");
  write_file(dir / "sub" / "ok.bin", pattern(8 * 512, 11));
  const std::string secret = (outside / "secret.bin").string();

  auto refused = [&](const std::string& line, const std::string& needle) {
    write_text(dir / "x.vmdk", descriptor(line));
    std::string text = error_text([&] { Disk::open(dir / "x.vmdk"); });
    INFO(line << " -> " << text);
    CHECK_THAT(text, Catch::Contains("x.vmdk") && Catch::Contains("extent 1") && Catch::Contains(needle));
    CHECK_THROWS_AS(Disk::open(dir / "x.vmdk"), FormatError);
  };
  refused("RW 8 FLAT \"" + secret + "\" 0\n", "absolute");
  refused("RW 8 FLAT \"/dev/null\" 0\n", "absolute");
  refused("RW 8 FLAT \"../" + outside.path.filename().string() + "/secret.bin\" 0\n", "\"..\"");
  refused("RW 8 FLAT \"sub/../sub/ok.bin\" 0\n", "\"..\"");
  refused("RW 8 FLAT \"sub\\..\\sub\\ok.bin\" 0\n", "\"..\"");
  refused("RW 8 FLAT \"C:\\VMs\\ok.bin\" 0\n", "absolute");

  fs::create_symlink(secret, dir / "link.bin");
  refused("RW 8 FLAT \"link.bin\" 0\n", "symlink");
  fs::create_directory_symlink(outside.path, dir / "linkdir");
  refused("RW 8 FLAT \"linkdir/secret.bin\" 0\n", "symlink");
  fs::create_symlink("/dev/null", dir / "null.bin");
  refused("RW 8 FLAT \"null.bin\" 0\n", "null");
  REQUIRE(::mkfifo((dir / "fifo.bin").c_str(), 0600) == 0);
  refused("RW 8 FLAT \"fifo.bin\" 0\n", "is a FIFO");

  // A symlink that stays inside, and '\' as a separator, are fine.
  fs::create_symlink("sub/ok.bin", dir / "inner.bin");
  write_text(dir / "x.vmdk", descriptor("RW 8 FLAT \"inner.bin\" 0\n"));
  CHECK_NOTHROW(Disk::open(dir / "x.vmdk"));
  write_text(dir / "x.vmdk", descriptor("RW 8 FLAT \"sub\\ok.bin\" 0\n"));
  CHECK(read_all(*Disk::open(dir / "x.vmdk")) == pattern(8 * 512, 11));

  // With allow_outside_paths the user takes responsibility.
  OpenOptions options;
  options.allow_outside_paths = true;
  write_text(dir / "x.vmdk", descriptor("RW 8 FLAT \"" + secret + "\" 0\n"));
  CHECK(read_all(*Disk::open(dir / "x.vmdk", options)) == pattern(8 * 512, 10));
  write_text(dir / "x.vmdk", descriptor("RW 8 FLAT \"link.bin\" 0\n"));
  CHECK_NOTHROW(Disk::open(dir / "x.vmdk", options));
}

TEST_CASE("files that are not VMDKs are told apart by their first bytes", "[disk]") {
  TempDir dir;
  write_file(dir / "random.bin", pattern(4096, 12));
  CHECK_THAT(error_text([&] { Disk::open(dir / "random.bin"); }),
             Catch::Contains("not a VMDK: no descriptor text and no sparse magic"));
  CHECK_THROWS_AS(Disk::open(dir / "random.bin"), FormatError);

  std::vector<std::uint8_t> cowd = pattern(4096, 13);
  std::copy_n("COWD", 4, cowd.begin());
  write_file(dir / "x-delta.vmdk", cowd);
  CHECK_THROWS_AS(Disk::open(dir / "x-delta.vmdk"), UnsupportedError);
  CHECK_THAT(error_text([&] { Disk::open(dir / "x-delta.vmdk"); }), Catch::Contains("descriptor"));

  std::vector<std::uint8_t> sesparse = pattern(4096, 14);
  const std::uint8_t magic[8] = {0xbe, 0xba, 0xfe, 0xca, 0, 0, 0, 0};
  std::copy_n(magic, 8, sesparse.begin());
  write_file(dir / "x-sesparse.vmdk", sesparse);
  CHECK_THROWS_AS(Disk::open(dir / "x-sesparse.vmdk"), UnsupportedError);

  // Descriptor-like text longer than any descriptor is refused before it is read whole.
  std::string big = "version=1\n" + std::string(2 * 1024 * 1024, '#');
  write_text(dir / "big.vmdk", big);
  CHECK_THROWS_AS(Disk::open(dir / "big.vmdk"), FormatError);

  write_text(dir / "empty.vmdk", "");
  CHECK_THROWS_AS(Disk::open(dir / "empty.vmdk"), FormatError);
  CHECK_THROWS_AS(Disk::open(dir / "nothing-here.vmdk"), IoError);
}

TEST_CASE("single-file sparse disks open under any name; bare extents are refused or read with a warning", "[disk][qemu]") {
  if (std::system("qemu-img --version >/dev/null 2>&1") != 0) {
    WARN("qemu-img not found: skipped");
    return;
  }
  TempDir dir;
  const std::string base = (dir / "made.vmdk").string();
  REQUIRE(std::system(("qemu-img create -q -f vmdk " + base + " 3M").c_str()) == 0);
  REQUIRE(std::system(("qemu-io -f vmdk -c 'write -P 0x5a 65536 70000' " + base + " >/dev/null").c_str()) == 0);
  fs::rename(base, dir / "renamed.vmdk");
  auto disk = Disk::open(dir / "renamed.vmdk");
  CHECK(disk->embedded_descriptor());
  REQUIRE(disk->capacity() == 3 * 1024 * 1024);
  CHECK(disk->extents()[0].path == dir / "renamed.vmdk");
  std::vector<std::uint8_t> out(70000);
  disk->read(65536, out);
  CHECK(std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0x5a; }));

  const std::string split = (dir / "split.vmdk").string();
  REQUIRE(std::system(("qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse " + split + " 5M").c_str()) == 0);
  // A part its descriptor names is refused with that descriptor's name.
  const std::string refused = error_text([&] { Disk::open(dir / "split-s001.vmdk"); });
  CHECK_THAT(refused, Catch::Contains("is extent 1 of") && Catch::Contains("split.vmdk; open that"));
  // Without its descriptor it is a recovery case: read alone, with a warning.
  fs::rename(split, dir / "split.lost");
  auto part = Disk::open(dir / "split-s001.vmdk");
  CHECK_FALSE(part->embedded_descriptor());
  CHECK(part->descriptor().create_type() == "monolithicSparse");
  CHECK(part->descriptor().cid() == 0xfffffffeu);
  CHECK(part->capacity() == 5 * 1024 * 1024);
  REQUIRE(part->warnings().size() == 1);
  CHECK_THAT(part->warnings()[0], Catch::Contains("bare sparse extent"));
  fs::rename(dir / "split.lost", split);
  CHECK(Disk::open(dir / "split.vmdk")->capacity() == 5 * 1024 * 1024);
}

TEST_CASE("flat samples made by VMware read to their manifest sha256", "[disk][samples]") {
  const fs::path samples = VMDKIT_SAMPLES_DIR;
  if (!fs::exists(samples / "MANIFEST.tsv")) {
    WARN("samples not found: skipped");
    return;
  }
  TempDir dir;
  struct Case {
    const char* name;
    const char* sha256;
  };
  const Case cases[] = {
      {"vmware-workstation/monolithicFlat.vmdk", "a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727"},
      {"vmware-workstation/twoGbMaxExtentFlat.vmdk", "a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727"},
      {"esxi/vmfs_thick.vmdk", "8d43c795d24bce01b49f92744f934c1072210dcac170bb1c83a5aa56df46ab7d"},
  };
  // Samples are gzip-compressed; unpack copies side by side so descriptors find their extents.
  for (const char* sub : {"vmware-workstation", "esxi"}) {
    fs::create_directories(dir / sub);
    std::string command = "cp " + (samples / sub).string() + "/* " + (dir / sub).string() + "/ && chmod u+w " +
                          (dir / sub).string() + "/* && gunzip -f " + (dir / sub).string() + "/*.gz";
    REQUIRE(std::system(command.c_str()) == 0);
  }
  for (const Case& c : cases) {
    INFO(c.name);
    auto disk = Disk::open(dir / c.name);
    write_file(dir / "raw", read_all(*disk));
    std::string command = "sha256sum " + (dir / "raw").string();
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[65] = {};
    REQUIRE(std::fread(buffer, 1, 64, pipe) == 64);
    ::pclose(pipe);
    CHECK(std::string(buffer) == c.sha256);
  }
  // The ESXi delta descriptor whose -delta.vmdk was never published: a clear missing-extent error.
  std::string text = error_text([&] { Disk::open(samples / "esxi/vmfs_thick-000001.vmdk"); });
  CHECK_THAT(text, Catch::Contains("vmfs_thick-000001.vmdk") && Catch::Contains("missing"));
}
