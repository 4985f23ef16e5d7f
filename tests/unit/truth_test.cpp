// Issue 14 findings 6-8 in the library: stream reads check the marker of every grain they decode,
// even one already decoded for another entry; check's scan decompresses every stream grain;
// extent lines over one file are found by device and inode; a NUL inside descriptor text.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "disk/shared_files.hpp"
#include "extent/sparse/open_sparse.hpp"
#include "extent/sparse/sparse_scan.hpp"
#include "support/kdmv_builder.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/disk.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using vmdk::test::KdmvBuilder;
using vmdk::test::KdmvKind;

namespace {

constexpr std::uint64_t kGrain = 65536;

// A 1 MiB stream with grains 0 and 1 of different bytes; entry 1 then names grain 0's record.
test::KdmvImage cross_linked_stream(KdmvKind kind) {
  test::KdmvImage image = KdmvBuilder(2048, kind).fill_grain(0, 0x11).fill_grain(1, 0x22).build();
  image.poke(image.gte_offset(1), 4, image.grain_sectors.at(0));
  return image;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("truth: a stream entry naming another grain's marker fails even after that grain was read") {
  for (KdmvKind kind : {KdmvKind::stream_footer, KdmvKind::stream_front, KdmvKind::stream_qemu}) {
    test::KdmvImage image = cross_linked_stream(kind);
    auto extent = sparse::open_sparse_extent(image.file(), 2048 * 512);
    std::vector<std::uint8_t> grain(kGrain);
    extent->read(0, grain);  // grain 0's record is now the cached one
    CHECK(grain[0] == 0x11);
    CHECK_THROWS_AS(extent->read(kGrain, grain), FormatError);
    std::vector<std::uint8_t> both(2 * kGrain);
    CHECK_THROWS_AS(extent->read(0, both), FormatError);
    // The scan reports the entry's record.
    const auto findings = sparse::scan_sparse(*image.file(), 2048 * 512).findings;
    CHECK(std::any_of(findings.begin(), findings.end(),
                      [](const Finding& f) { return f.code == "grain_marker_invalid"; }));
  }
}

TEST_CASE("truth: check's scan decompresses every stream grain") {
  test::KdmvImage image = KdmvBuilder(2048, KdmvKind::stream_footer).fill_grain(0, 0x11).fill_grain(3, 0x33).build();
  // Damage the deflate data of grain 3 after its 12-byte marker and 2-byte zlib header.
  const std::uint64_t record = image.grain_sectors.at(3) * 512;
  for (std::uint64_t i = 14; i < 30; ++i) image.bytes[record + i] = 0xff;
  const auto findings = sparse::scan_sparse(*image.file(), 2048 * 512).findings;
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].code == "grain_data_corrupt");
  CHECK(findings[0].severity == Severity::corruption);
  CHECK(findings[0].offset == record);
  auto extent = sparse::open_sparse_extent(image.file(), 2048 * 512);
  std::vector<std::uint8_t> grain(kGrain);
  CHECK_THROWS_AS(extent->read(3 * kGrain, grain), FormatError);
}

TEST_CASE("truth: extent lines over one file are aliased by device and inode") {
  vmdk_test::TempDir dir;
  write_file(dir / "data-flat.vmdk", std::string(4096, 'x'));
  std::filesystem::create_hard_link(dir / "data-flat.vmdk", dir / "hard-flat.vmdk");
  std::filesystem::create_symlink("data-flat.vmdk", dir / "sym-flat.vmdk");
  auto open = [&](const std::string& lines, bool inspect) {
    write_file(dir / "d.vmdk", "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n"
                               "createType=\"monolithicFlat\"\n" + lines);
    OpenOptions options;
    options.allow_missing_extents = inspect;
    return Disk::open(dir / "d.vmdk", options);
  };
  CHECK_NOTHROW(open("RW 4 FLAT \"data-flat.vmdk\" 0\nRW 4 FLAT \"hard-flat.vmdk\" 4\n", false));
  CHECK_THROWS_AS(open("RW 4 FLAT \"data-flat.vmdk\" 0\nRW 4 FLAT \"hard-flat.vmdk\" 3\n", false), FormatError);
  CHECK_THROWS_AS(open("RW 4 FLAT \"sym-flat.vmdk\" 2\nRW 8 FLAT \"data-flat.vmdk\" 0\n", false), FormatError);
  auto disk = open("RW 2 FLAT \"a.vmdk\" 0\nRW 4 FLAT \"data-flat.vmdk\" 0\nRW 4 FLAT \"sym-flat.vmdk\" 0\n", true);
  const auto aliases = disk::find_extent_aliases(disk->extents());
  REQUIRE(aliases.size() == 1);
  CHECK(aliases[0].first == 1);
  CHECK(aliases[0].second == 2);
}

TEST_CASE("truth: a NUL with text after it in a descriptor is a FormatError at its offset") {
  const std::string head = "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n";
  try {
    Descriptor::parse(head + std::string(1, '\0') + "RW 8 FLAT \"x\" 0\n", "d.vmdk");
    FAIL("no error");
  } catch (const FormatError& error) {
    CHECK(error.offset() == head.size());
  }
  // NUL padding at the end is what embedded descriptors have.
  CHECK(Descriptor::parse(head + "RW 8 FLAT \"x\" 0\n" + std::string(40, '\0'), "d.vmdk").extents().size() == 1);
}
