// Compressed KDMV extents: streamOptimized layouts A (footer), B (open-vmdk), C (QEMU), marker type
// 4, compressed grains without markers, raw deflate, short last grains (vmdk-format.md 2.12, 3).
#include <catch2/catch.hpp>

#include <algorithm>

#include "extent/sparse/open_sparse.hpp"
#include "format/sparse_header.hpp"
#include "support/kdmv_builder.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using vmdk::test::KdmvBuilder;
using vmdk::test::KdmvKind;
using vmdk::test::pattern_bytes;

namespace {

constexpr std::uint64_t kGrain = 65536;

std::vector<std::uint8_t> read_all(const Extent& e, std::uint64_t offset, std::uint64_t length) {
  std::vector<std::uint8_t> out(length, 0xee);
  e.read(offset, out);
  return out;
}

// 10 MiB disk with three grains like the 3.4 example (grains 0, 3, 80) and a zeroed grain 5.
KdmvBuilder example(KdmvKind kind) {
  auto g3 = pattern_bytes(kGrain, 3);
  for (std::size_t i = 0; i < g3.size(); i += 2) g3[i] = 0;
  KdmvBuilder b(20480, kind);
  b.descriptor("# Disk DescriptorFile\nversion=1\ncreateType=\"streamOptimized\"\n", 1)
      .fill_grain(0, 0x5a)
      .grain(3, g3)
      .grain(80, pattern_bytes(kGrain, 80))
      .zero_grain(5);
  return b;
}

void check_example(const Extent& extent) {
  CHECK(read_all(extent, 0, kGrain) == std::vector<std::uint8_t>(kGrain, 0x5a));
  auto g3 = pattern_bytes(kGrain, 3);
  for (std::size_t i = 0; i < g3.size(); i += 2) g3[i] = 0;
  CHECK(read_all(extent, 3 * kGrain, kGrain) == g3);
  CHECK(read_all(extent, 80 * kGrain, kGrain) == pattern_bytes(kGrain, 80));
  // Partial read across grains 2..4.
  auto part = read_all(extent, 3 * kGrain - 10, kGrain + 20);
  CHECK(std::all_of(part.begin(), part.begin() + 10, [](std::uint8_t b) { return b == 0; }));
  CHECK(std::equal(g3.begin(), g3.end(), part.begin() + 10));
  auto zero = read_all(extent, 5 * kGrain, kGrain);
  CHECK(std::all_of(zero.begin(), zero.end(), [](std::uint8_t b) { return b == 0; }));

  std::vector<Run> runs;
  extent.map(0, extent.size(), runs);
  std::vector<BlockState> states;
  for (const Run& r : runs) states.push_back(r.state);
  using S = BlockState;
  CHECK(states == std::vector<S>{S::data, S::unallocated, S::data, S::unallocated, S::zero, S::unallocated, S::data,
                                 S::unallocated});
  CHECK(runs[0].compressed);
  CHECK(runs[0].length == kGrain);
  CHECK(runs[4].host_offset == kNoHostOffset);
  Run r = extent.block_status(3 * kGrain + 100, kGrain);
  CHECK(r.state == BlockState::data);
  CHECK(r.compressed);
  CHECK(r.length == kGrain - 100);
  CHECK(r.host_offset % 512 == 0);
}

}  // namespace

TEST_CASE("layout A: directory at the end, footer and EOS") {
  auto image = example(KdmvKind::stream_footer).build();
  CHECK(image.header.gd_offset == format::kGdAtEnd);
  REQUIRE(image.footer_offset == image.bytes.size() - 1024);
  auto extent = sparse::open_sparse_extent(image.file(), 20480 * 512);
  check_example(*extent);
  CHECK(sparse::header_capacity_bytes(*image.file()) == 20480 * 512);
  auto d = extent->details();
  CHECK(d.format == "stream");
  CHECK(d.grain_size == kGrain);
  CHECK(d.allocated_bytes > 0);
  CHECK(d.allocated_bytes < 3 * kGrain + 3 * 1024);
  // The footer's values are shown, not GD_AT_END.
  auto gd = std::find_if(d.header.begin(), d.header.end(), [](auto& f) { return f.first == "gd_offset"; });
  REQUIRE(gd != d.header.end());
  CHECK(gd->second == image.gd_sector);
  CHECK(sparse::read_embedded_descriptor(*image.file())->find("streamOptimized") != std::string::npos);

  SECTION("the footer's fields win over the header's") {
    image.poke_header("capacity", 999999);  // header capacity is not used when a footer exists
    auto again = sparse::open_sparse_extent(image.file(), 20480 * 512);
    CHECK(sparse::header_capacity_bytes(*image.file()) == 20480 * 512);
    check_example(*again);
  }
}

TEST_CASE("layout B: open-vmdk, directory in front, overHead not grain aligned") {
  auto image = example(KdmvKind::stream_front).descriptor("x", 20).build();
  CHECK(image.header.overhead == 26);
  CHECK(image.header.gd_offset == 21);
  auto extent = sparse::open_sparse_extent(image.file(), 20480 * 512);
  check_example(*extent);
}

TEST_CASE("layout C: QEMU, RGD kept, no metadata markers, zero tail") {
  auto image = example(KdmvKind::stream_qemu).build();
  CHECK((image.header.flags & format::kFlagRedundantGd) != 0);
  CHECK(image.bytes.size() % kGrain == 0);
  auto extent = sparse::open_sparse_extent(image.file(), 20480 * 512);
  check_example(*extent);
}

TEST_CASE("marker type 4 between grains is tolerated") {
  auto image = example(KdmvKind::stream_footer).progress_markers(true).build();
  auto extent = sparse::open_sparse_extent(image.file(), 20480 * 512);
  check_example(*extent);
}

TEST_CASE("compressed grains without markers (2.12)") {
  auto image = example(KdmvKind::compressed_no_markers).build();
  CHECK((image.header.flags & format::kFlagEmbeddedLba) == 0);
  auto extent = sparse::open_sparse_extent(image.file(), 20480 * 512);
  check_example(*extent);
}

TEST_CASE("raw deflate grains are read through the fallback") {
  auto image = example(KdmvKind::stream_footer).raw_deflate(true).build();
  auto extent = sparse::open_sparse_extent(image.file(), 20480 * 512);
  check_example(*extent);
}

TEST_CASE("short decompressed grain is zero filled, unaligned capacity") {
  // 4000 sectors: last grain holds 32 sectors, compressed exactly as given (open-vmdk style).
  auto tail = pattern_bytes(32 * 512, 31);
  auto image = KdmvBuilder(4000, KdmvKind::stream_footer).compress_as_given(true).grain(31, tail).build();
  auto extent = sparse::open_sparse_extent(image.file(), 4000 * 512);
  CHECK(read_all(*extent, 31 * kGrain, 32 * 512) == tail);
  SECTION("descriptor larger than capacity: the rest is unallocated") {
    auto big = sparse::open_sparse_extent(image.file(), 4096 * 512);
    auto past = read_all(*big, 4000 * 512, 96 * 512);
    CHECK(std::all_of(past.begin(), past.end(), [](std::uint8_t b) { return b == 0; }));
    CHECK(big->block_status(4000 * 512, 96 * 512).state == BlockState::unallocated);
  }
}

TEST_CASE("a large sequential read through a stream") {
  KdmvBuilder b(32768, KdmvKind::stream_footer);  // 16 MiB
  std::vector<std::uint8_t> expect(32768 * 512, 0);
  for (std::uint64_t i = 0; i < 256; i += 2) {
    auto data = pattern_bytes(kGrain, static_cast<std::uint32_t>(i));
    std::fill(data.begin(), data.begin() + 30000, std::uint8_t{0});
    std::copy(data.begin(), data.end(), expect.begin() + static_cast<std::ptrdiff_t>(i * kGrain));
    b.grain(i, data);
  }
  auto image = b.build();
  auto extent = sparse::open_sparse_extent(image.file(), 32768 * 512);
  std::vector<std::uint8_t> out(expect.size());
  extent->read(0, out);
  CHECK(out == expect);
  // Small reads inside one grain reuse the decompressed grain.
  std::vector<std::uint8_t> small(4096);
  for (std::uint64_t off = 0; off < kGrain; off += 4096) {
    extent->read(off, small);
    CHECK(std::equal(small.begin(), small.end(), expect.begin() + static_cast<std::ptrdiff_t>(off)));
  }
}
