// Hosted sparse (KDMV) extents with plain grains: versions, RGD, zeroed grains, unaligned
// capacities, descriptor-size mapping, coalesced reads (vmdk-format.md 2).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include "extent/sparse/grain_tables.hpp"
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

// Counts read_at calls so tests can prove coalescing and "no I/O for holes".
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(std::shared_ptr<const ByteSource> inner) : inner_(std::move(inner)) {}
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    ++calls;
    largest = std::max<std::uint64_t>(largest, out.size());
    return inner_->read_at(offset, out);
  }
  std::uint64_t size() const override { return inner_->size(); }
  const std::string& name() const override { return inner_->name(); }
  mutable std::atomic<int> calls{0};
  mutable std::uint64_t largest = 0;

 private:
  std::shared_ptr<const ByteSource> inner_;
};

std::vector<std::uint8_t> read_all(const Extent& e, std::uint64_t offset, std::uint64_t length) {
  std::vector<std::uint8_t> out(length, 0xee);
  e.read(offset, out);
  return out;
}

bool all_zero(const std::vector<std::uint8_t>& v) {
  return std::all_of(v.begin(), v.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

TEST_CASE("v1 sparse with redundant directory reads the primary") {
  auto g0 = pattern_bytes(kGrain, 1);
  auto g5 = pattern_bytes(kGrain, 5);
  auto image = KdmvBuilder(204800).descriptor("# Disk DescriptorFile\nversion=1\n").grain(0, g0).grain(5, g5).build();
  REQUIRE(image.rgd_sector == 21);
  REQUIRE(image.gd_sector == 38);
  REQUIRE(image.header.overhead == 128);
  // Damage the redundant directory: the reader must not look at it.
  image.poke(image.rgd_sector * 512, 4, 0xffffffff);
  auto extent = sparse::open_sparse_extent(image.file(), 204800 * 512);
  REQUIRE(extent->size() == 204800ull * 512);
  CHECK(read_all(*extent, 0, kGrain) == g0);
  CHECK(read_all(*extent, 5 * kGrain, kGrain) == g5);
  CHECK(all_zero(read_all(*extent, kGrain, 4 * kGrain)));
  // Unaligned read spanning grains 4..6.
  auto mixed = read_all(*extent, 5 * kGrain - 100, kGrain + 200);
  CHECK(all_zero(std::vector<std::uint8_t>(mixed.begin(), mixed.begin() + 100)));
  CHECK(std::equal(g5.begin(), g5.end(), mixed.begin() + 100));

  Run r0 = extent->block_status(0, 10 * kGrain);
  CHECK(r0.state == BlockState::data);
  CHECK(r0.length == kGrain);
  CHECK(r0.host_offset == 128 * 512);
  Run r1 = extent->block_status(100, 10 * kGrain);
  CHECK(r1.length == kGrain - 100);
  CHECK(r1.host_offset == 128 * 512 + 100);
  Run hole = extent->block_status(kGrain, 100 * kGrain);
  CHECK(hole.state == BlockState::unallocated);
  CHECK(hole.length == 4 * kGrain);
  CHECK(hole.host_offset == kNoHostOffset);

  std::vector<Run> runs;
  extent->map(0, extent->size(), runs);
  REQUIRE(runs.size() == 4);
  CHECK(runs[0] == Run{0, kGrain, BlockState::data, 128 * 512, false});
  CHECK(runs[1] == Run{kGrain, 4 * kGrain, BlockState::unallocated, kNoHostOffset, false});
  CHECK(runs[2] == Run{5 * kGrain, kGrain, BlockState::data, 256 * 512, false});
  CHECK(runs[3].state == BlockState::unallocated);
  CHECK(runs[3].offset + runs[3].length == extent->size());

  auto d = extent->details();
  CHECK(d.format == "sparse");
  CHECK(d.grain_size == kGrain);
  CHECK(d.allocated_bytes == 2 * kGrain);
  REQUIRE(d.header.size() == 12);
  CHECK(d.header[0] == std::pair<std::string, std::uint64_t>{"version", 1});
  CHECK(d.header[2] == std::pair<std::string, std::uint64_t>{"capacity", 204800});
  CHECK(d.header[8] == std::pair<std::string, std::uint64_t>{"gd_offset", 38});
  CHECK(d.header[11].first == "compress_algorithm");
}

TEST_CASE("versions 1, 2 and 3 all read") {
  for (std::uint32_t version : {1u, 2u, 3u}) {
    auto image = KdmvBuilder(20480).version(version).fill_grain(3, 0x11).build();
    auto extent = sparse::open_sparse_extent(image.file(), 20480 * 512);
    CHECK(read_all(*extent, 3 * kGrain, kGrain) == std::vector<std::uint8_t>(kGrain, 0x11));
  }
}

TEST_CASE("zeroed-grain entries read zeros and hide the parent") {
  auto image = KdmvBuilder(20480).fill_grain(0, 0x22).zero_grain(1).fill_grain(2, 0x33).build();
  CHECK(image.header.version == 2);
  CHECK((image.header.flags & format::kFlagZeroedGrainGte) != 0);
  auto extent = sparse::open_sparse_extent(image.file(), 20480 * 512);
  Run z = extent->block_status(kGrain, 20480 * 512 - kGrain);
  CHECK(z.state == BlockState::zero);
  CHECK(z.length == kGrain);
  CHECK(all_zero(read_all(*extent, kGrain, kGrain)));
  CHECK(extent->block_status(3 * kGrain, kGrain).state == BlockState::unallocated);

  SECTION("GTE 1 without flag bit 2 is still a zero grain") {
    image.poke_header("flags", 3);
    image.poke_header("version", 1);
    auto plain = sparse::open_sparse_extent(image.file(), 20480 * 512);
    CHECK(plain->block_status(kGrain, kGrain).state == BlockState::zero);
    CHECK(all_zero(read_all(*plain, kGrain, kGrain)));
  }
}

TEST_CASE("capacity that is not a multiple of the grain size") {
  // 4000 sectors: 31 whole grains and a last grain of 32 sectors.
  auto last = pattern_bytes(kGrain, 9);
  auto image = KdmvBuilder(4000).grain(31, last).build();
  auto extent = sparse::open_sparse_extent(image.file(), 4000 * 512);
  auto tail = read_all(*extent, 31 * kGrain, 4000 * 512 - 31 * kGrain);
  CHECK(std::equal(tail.begin(), tail.end(), last.begin()));
  std::vector<Run> runs;
  extent->map(0, extent->size(), runs);
  REQUIRE(runs.size() == 2);
  CHECK(runs[1].length == 32 * 512);
  CHECK(sparse::header_capacity_bytes(*image.file()) == 4000 * 512);

  SECTION("a truncated last grain only needs its bytes inside the capacity") {
    image.bytes.resize(image.bytes.size() - (kGrain - 32 * 512));
    auto cut = sparse::open_sparse_extent(image.file(), 4000 * 512);
    CHECK(read_all(*cut, 31 * kGrain, 32 * 512) == tail);
  }
}

TEST_CASE("the descriptor's extent size is authoritative") {
  auto image = KdmvBuilder(2048).fill_grain(0, 0x44).fill_grain(15, 0x55).build();
  SECTION("larger than the header capacity: the rest is unallocated") {
    auto extent = sparse::open_sparse_extent(image.file(), 4096 * 512);
    CHECK(extent->size() == 4096 * 512);
    Run r = extent->block_status(2048 * 512, 2048 * 512);
    CHECK(r.state == BlockState::unallocated);
    CHECK(r.length == 2048 * 512);
    Run straddle = extent->block_status(15 * kGrain, 2 * kGrain);
    CHECK(straddle.state == BlockState::data);
    CHECK(straddle.length == kGrain);
    auto bytes = read_all(*extent, 15 * kGrain, 2 * kGrain);
    CHECK(std::count(bytes.begin(), bytes.end(), 0x55) == static_cast<long>(kGrain));
    CHECK(std::count(bytes.begin(), bytes.end(), 0) == static_cast<long>(kGrain));
  }
  SECTION("smaller than the header capacity: mapped by the descriptor") {
    auto extent = sparse::open_sparse_extent(image.file(), 1000 * 512);
    CHECK(extent->size() == 1000 * 512);
    std::vector<Run> runs;
    extent->map(0, extent->size(), runs);
    CHECK(runs.back().offset + runs.back().length == 1000 * 512);
    CHECK_THROWS_AS(read_all(*extent, 999 * 512, 1024), UsageError);
  }
}

TEST_CASE("many grain tables, neighbouring grains coalesce into one read") {
  // Small grains (8 sectors) and 128-entry tables: one table covers 512 KiB.
  const std::uint64_t grain = 4096;
  KdmvBuilder builder(16384);
  builder.grain_sectors(8).gtes_per_gt(128);
  std::vector<std::uint8_t> expect(16384 * 512, 0);
  // Grains 100..399 written in order: contiguous on disk, spanning three tables.
  for (std::uint64_t i = 100; i < 400; ++i) {
    auto data = pattern_bytes(grain, static_cast<std::uint32_t>(i));
    std::copy(data.begin(), data.end(), expect.begin() + static_cast<std::ptrdiff_t>(i * grain));
    builder.grain(i, data);
  }
  auto image = builder.build();
  auto counting = std::make_shared<CountingSource>(image.file());
  auto extent = sparse::open_sparse_extent(counting, 16384 * 512);
  std::vector<std::uint8_t> out(expect.size());
  int before = counting->calls;
  extent->read(0, out);
  CHECK(out == expect);
  // The 16 tables lie back to back and are read together, then one data read.
  CHECK(counting->calls - before == 2);
  CHECK(counting->largest == 300 * grain);
  before = counting->calls;
  extent->read(0, std::span<std::uint8_t>(out).subspan(0, 100 * grain));  // a hole: no I/O
  CHECK(counting->calls == before);

  std::vector<Run> runs;
  extent->map(0, extent->size(), runs);
  REQUIRE(runs.size() == 3);
  CHECK(runs[1].state == BlockState::data);
  CHECK(runs[1].offset == 100 * grain);
  CHECK(runs[1].length == 300 * grain);
}

TEST_CASE("embedded descriptor") {
  SECTION("present, cut at the first NUL") {
    auto image = KdmvBuilder(2048).descriptor("version=1\nCID=1\n").build();
    CHECK(sparse::has_sparse_magic(*image.file()));
    CHECK(sparse::read_embedded_descriptor(*image.file()) == std::optional<std::string>("version=1\nCID=1\n"));
  }
  SECTION("descriptorOffset 0 (split part)") {
    auto image = KdmvBuilder(2048).fill_grain(0, 1).build();
    CHECK(image.header.descriptor_offset == 0);
    CHECK(sparse::read_embedded_descriptor(*image.file()) == std::nullopt);
    auto extent = sparse::open_sparse_extent(image.file(), 2048 * 512);
    CHECK(extent->block_status(0, 512).state == BlockState::data);
  }
  SECTION("reserved but empty area (QEMU split parts)") {
    auto image = KdmvBuilder(2048).descriptor("", 20).build();
    CHECK(sparse::read_embedded_descriptor(*image.file()) == std::nullopt);
  }
  SECTION("size bounds") {
    auto image = KdmvBuilder(2048).descriptor("version=1\n", 20).build();
    image.poke_header("descriptor_size", 20481);
    CHECK_THROWS_AS(sparse::read_embedded_descriptor(*image.file()), FormatError);
    image.poke_header("descriptor_size", 2000);
    try {
      sparse::read_embedded_descriptor(*image.file());
      FAIL("no error");
    } catch (const FormatError& e) {
      CHECK_THAT(e.what(), Catch::Contains("past end of file"));
      CHECK(e.offset() == format::sparse_header_field("descriptor_offset").offset);
    }
  }
  SECTION("not a KDMV file") {
    MemoryFile text("d.vmdk", std::vector<std::uint8_t>(600, 'x'));
    CHECK_FALSE(sparse::has_sparse_magic(text));
    CHECK_THROWS_AS(sparse::read_embedded_descriptor(text), FormatError);
    MemoryFile tiny("t.vmdk", {0x4b, 0x44});
    CHECK_FALSE(sparse::has_sparse_magic(tiny));
  }
}

TEST_CASE("concurrent reads share the table cache safely") {
  KdmvBuilder builder(65536);
  builder.grain_sectors(8).gtes_per_gt(128);
  for (std::uint64_t i = 0; i < 8192; i += 3) builder.fill_grain(i, static_cast<std::uint8_t>(i % 251 + 1));
  auto image = builder.build();
  auto extent = sparse::open_sparse_extent(image.file(), 65536 * 512);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::uint8_t> buf(4096);
      for (std::uint64_t i = static_cast<std::uint64_t>(t); i < 8192; i += 4) {
        extent->read(i * 4096, buf);
        std::uint8_t want = i % 3 == 0 ? static_cast<std::uint8_t>(i % 251 + 1) : 0;
        if (buf[0] != want || buf[4095] != want) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(bad == 0);
}

TEST_CASE("a grain table named by many directory entries is read once and counted once") {
  // Issue 16: a hostile directory whose entries all name one table (8-sector grains, 128-entry
  // tables: 64 tables of 512 KiB each, all pointing at table 0, whose entry 0 is one grain).
  const std::uint64_t grain = 4096;
  KdmvBuilder builder(65536);
  builder.grain_sectors(8).gtes_per_gt(128).grain(0, pattern_bytes(grain, 7));
  auto image = builder.build();
  std::vector<std::uint8_t> entry(4);
  REQUIRE(image.file()->read_at(image.gde_offset(0), entry) == 4);
  const std::uint64_t sector = entry[0] | (entry[1] << 8) | (entry[2] << 16) | (std::uint64_t{entry[3]} << 24);
  for (std::uint64_t g = 1; g < 64; ++g) image.poke(image.gde_offset(g), 4, sector);
  auto counting = std::make_shared<CountingSource>(image.file());
  auto extent = sparse::open_sparse_extent(counting, 65536 * 512);
  int before = counting->calls;
  std::vector<Run> runs;
  extent->map(0, extent->size(), runs);
  CHECK(counting->calls - before == 1);  // one read of the one table, not one per entry
  CHECK(runs.size() == 128);             // each entry still maps its own range
  CHECK(extent->details().allocated_bytes == grain);  // the one grain, once
  // The content is what the directory says: grain 0 of every table reads the same bytes.
  CHECK(read_all(*extent, 63 * 128 * grain, grain) == pattern_bytes(grain, 7));
}

TEST_CASE("grains above 16 MiB are refused at open, naming the header field") {
  auto image = KdmvBuilder(2048).build();
  image.poke_header("grain_size", 0x10000);  // 32 MiB
  try {
    sparse::open_sparse_extent(image.file(), 2048 * 512);
    FAIL("no error");
  } catch (const FormatError& e) {
    CHECK_THAT(e.what(), Catch::Contains("grain size 0x10000 sectors is larger than the 0x8000 sectors"));
    CHECK(e.offset() == format::sparse_header_field("grain_size").offset);
  }
  image.poke_header("grain_size", 0x8000);  // 16 MiB: the largest accepted
  CHECK_NOTHROW(sparse::open_sparse_extent(image.file(), 2048 * 512));
}

TEST_CASE("empty grain tables keep no memory, are read once, and walk as one unallocated run") {
  // Issue 16: a split disk made by create is thousands of extents of empty tables. 4 KiB grains,
  // 512-entry tables: 16 tables of 2 MiB each, one grain in the last.
  const std::uint64_t grain = 4096;
  const std::uint64_t coverage = 512 * grain;
  KdmvBuilder builder(16 * coverage / 512);
  builder.grain_sectors(8).grain(15 * 512, pattern_bytes(grain, 3));
  auto image = builder.build();
  auto counting = std::make_shared<CountingSource>(image.file());
  const std::size_t before = sparse::GrainTables::process_cached_bytes();
  auto extent = sparse::open_sparse_extent(counting, 16 * coverage);
  std::vector<Run> runs;
  extent->map(0, extent->size(), runs);
  REQUIRE(runs.size() == 3);
  CHECK(runs[0].state == BlockState::unallocated);
  CHECK(runs[0].length == 15 * coverage);
  CHECK(runs[1].state == BlockState::data);
  // Only the one table holding a grain takes cache memory.
  CHECK(sparse::GrainTables::process_cached_bytes() - before == 512 * 4);
  const int calls = counting->calls;
  runs.clear();
  extent->map(0, extent->size(), runs);
  CHECK(counting->calls == calls);  // the empty tables are known, not read again
  CHECK(extent->block_status(grain, 14 * coverage).length == 14 * coverage);
}

TEST_CASE("the grain tables of all extents in a process share one cache budget") {
  // 300 extents of 64 tables holding a grain each (128 KiB of tables per extent, 37.5 MiB in all)
  // walked once, as map walks a split disk: the process keeps at most the budget (16 MiB).
  const std::uint64_t grain = 4096;
  const std::uint64_t coverage = 512 * grain;
  KdmvBuilder builder(64 * coverage / 512);
  builder.grain_sectors(8);
  for (std::uint64_t t = 0; t < 64; ++t) builder.fill_grain(t * 512, static_cast<std::uint8_t>(t + 1));
  auto image = builder.build();
  auto file = image.file();
  const std::size_t before = sparse::GrainTables::process_cached_bytes();
  std::vector<std::unique_ptr<Extent>> extents;
  for (int i = 0; i < 300; ++i) {
    extents.push_back(sparse::open_sparse_extent(file, 64 * coverage));
    std::vector<Run> runs;
    extents.back()->map(0, extents.back()->size(), runs);
    CHECK(runs.size() == 128);
    CHECK(sparse::GrainTables::process_cached_bytes() <= std::size_t{16} << 20);
  }
  // An extent whose cache was emptied still answers (its tables are read again).
  std::vector<std::uint8_t> out(grain);
  extents.front()->read(63 * coverage, out);
  CHECK(out == std::vector<std::uint8_t>(grain, 64));
  extents.clear();
  CHECK(sparse::GrainTables::process_cached_bytes() <= before);  // leaving extents give theirs back
}
