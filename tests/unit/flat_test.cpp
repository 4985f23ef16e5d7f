// Unit tests of the FLAT/VMFS and ZERO extent kinds, in memory (vmdk-format.md 1.6, 4.1).
#include <catch2/catch.hpp>

#include <numeric>

#include "extent/flat/flat_extent.hpp"
#include "extent/zero/zero_extent.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

using namespace vmdk;

namespace {

std::shared_ptr<MemoryFile> counting_file(std::size_t size) {
  std::vector<std::uint8_t> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
  return std::make_shared<MemoryFile>("flat.bin", std::move(bytes));
}

}  // namespace

TEST_CASE("flat extent reads its window of the host file", "[flat]") {
  auto file = counting_file(8192);
  auto extent = flat::open_flat_extent(file, 1024, 4096);
  REQUIRE(extent->size() == 4096);
  std::vector<std::uint8_t> out(1000);
  extent->read(3, out);
  for (std::size_t i = 0; i < out.size(); ++i) REQUIRE(out[i] == file->data()[1024 + 3 + i]);
  CHECK(extent->host_file() == "flat.bin");
  CHECK(extent->details().format == "flat");
  CHECK(extent->details().allocated_bytes == 4096);
}

TEST_CASE("flat extent is data everywhere with host offsets", "[flat]") {
  auto extent = flat::open_flat_extent(counting_file(8192), 512, 4096);
  Run run = extent->block_status(100, 100000);
  CHECK(run.offset == 100);
  CHECK(run.length == 4096 - 100);
  CHECK(run.state == BlockState::data);
  CHECK(run.host_offset == 612);
  std::vector<Run> runs;
  extent->map(0, 4096, runs);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0] == Run{0, 4096, BlockState::data, 512, false});
}

TEST_CASE("flat extent shorter than its line is refused, never read as zeros", "[flat]") {
  auto file = counting_file(4096);
  REQUIRE_THROWS_AS(flat::open_flat_extent(file, 512, 4096), FormatError);
  try {
    flat::open_flat_extent(file, 512, 4096);
  } catch (const FormatError& error) {
    CHECK_THAT(error.what(), Catch::Contains("flat.bin") && Catch::Contains("shorter than its descriptor line"));
  }
  CHECK_NOTHROW(flat::open_flat_extent(file, 512, 3584));
  CHECK_THROWS_AS(flat::open_flat_extent(file, UINT64_MAX - 10, 4096), FormatError);
}

TEST_CASE("flat extent refuses ranges outside itself", "[flat]") {
  auto extent = flat::open_flat_extent(counting_file(4096), 0, 2048);
  std::vector<std::uint8_t> out(16);
  CHECK_THROWS_AS(extent->read(2040, out), UsageError);
  CHECK_THROWS_AS(extent->block_status(2048, 1), UsageError);
}

TEST_CASE("flat extent notices a file that shrank after opening", "[flat]") {
  auto file = counting_file(4096);
  auto extent = flat::open_flat_extent(file, 0, 4096);
  file->resize(1000);
  std::vector<std::uint8_t> out(512);
  CHECK_THROWS_AS(extent->read(1024, out), FormatError);
}

TEST_CASE("zero extent says zero and reads zeros", "[zero]") {
  auto extent = zero::open_zero_extent(1 << 20);
  Run run = extent->block_status(4096, 1 << 20);
  CHECK(run.state == BlockState::zero);
  CHECK(run.length == (1 << 20) - 4096);
  CHECK(run.host_offset == kNoHostOffset);
  std::vector<std::uint8_t> out(4096, 0xaa);
  extent->read(12345, out);
  CHECK(std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0; }));
  CHECK(extent->host_file().empty());
  CHECK(extent->details().format == "zero");
  CHECK(extent->details().allocated_bytes == 0);
  std::vector<Run> runs;
  extent->map(0, 1 << 20, runs);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].state == BlockState::zero);
}

namespace {

// A host file with holes, as SEEK_DATA / SEEK_HOLE would describe it: bytes outside data_spans
// are holes (zeros); reads are counted so that a test sees whether holes were read.
class HoleyFile final : public ByteSource {
 public:
  HoleyFile(std::uint64_t size, std::vector<DataSpan> data_spans) : size_(size), spans_(std::move(data_spans)) {}
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    ++reads;
    if (offset >= size_) return 0;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - offset));
    for (std::size_t i = 0; i < n; ++i) out[i] = in_data(offset + i) ? 0xAB : 0;
    return n;
  }
  std::uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  DataSpan next_data(std::uint64_t offset) const override {
    ++queries;
    for (const DataSpan& span : spans_) {
      if (span.end > offset) return DataSpan{std::max(offset, span.begin), span.end};
    }
    return DataSpan{kNoMoreData, kNoMoreData};
  }
  mutable std::uint64_t reads = 0;
  mutable std::uint64_t queries = 0;

 private:
  bool in_data(std::uint64_t at) const {
    return std::any_of(spans_.begin(), spans_.end(), [at](const DataSpan& s) { return at >= s.begin && at < s.end; });
  }
  std::uint64_t size_;
  std::vector<DataSpan> spans_;
  std::string name_ = "thin-flat.vmdk";
};

}  // namespace

TEST_CASE("flat extent answers holes of its host file as zeros that keep their host offset", "[flat][holes]") {
  constexpr std::uint64_t kTiB = 1ull << 40;
  // Host data before the window, in it, and after it: only the middle one belongs to the extent.
  auto file = std::make_shared<HoleyFile>(3 * kTiB, std::vector<DataSpan>{{0, 4096},
                                                                          {kTiB + (1u << 30), kTiB + (1u << 30) + 65536},
                                                                          {2 * kTiB + 4096, 2 * kTiB + 8192}});
  auto extent = flat::open_flat_extent(file, kTiB, kTiB);
  std::vector<Run> runs;
  extent->map(0, kTiB, runs);
  REQUIRE(runs.size() == 3);
  CHECK(runs[0] == Run{0, 1u << 30, BlockState::zero, kTiB, false});
  CHECK(runs[1] == Run{1u << 30, 65536, BlockState::data, kTiB + (1u << 30), false});
  CHECK(runs[2] == Run{(1u << 30) + 65536, kTiB - (1u << 30) - 65536, BlockState::zero,
                       kTiB + (1u << 30) + 65536, false});
  // A run asked from inside the data stops where the data does, and at max_len.
  CHECK(extent->block_status((1u << 30) + 4096, kTiB) == Run{(1u << 30) + 4096, 61440, BlockState::data,
                                                             kTiB + (1u << 30) + 4096, false});
  CHECK(extent->block_status(0, 512).length == 512);
  CHECK(file->reads == 0);
}

TEST_CASE("flat extent allocated size counts the data its window holds, not its capacity", "[flat][holes]") {
  constexpr std::uint64_t kTiB = 1ull << 40;
  auto file = std::make_shared<HoleyFile>(
      4 * kTiB, std::vector<DataSpan>{{0, 4096}, {kTiB - 4096, kTiB + 8192}, {3 * kTiB - 512, 3 * kTiB + 4096}});
  auto extent = flat::open_flat_extent(file, kTiB, 2 * kTiB);
  // 8192 bytes at the window's start and 512 at its end; the data outside the window is not its own.
  CHECK(extent->details().allocated_bytes == 8192 + 512);
  CHECK(file->reads == 0);
  // A source that cannot tell (memory) is data everywhere: its whole window is allocated.
  CHECK(flat::open_flat_extent(counting_file(8192), 1024, 4096)->details().allocated_bytes == 4096);
}

TEST_CASE("flat extent asks the file system once for a hole that spans many windows", "[flat][holes]") {
  constexpr std::uint64_t kWindow = 32ull << 20;
  auto file = std::make_shared<HoleyFile>(1ull << 40, std::vector<DataSpan>{{(1ull << 40) - 4096, 1ull << 40}});
  auto extent = flat::open_flat_extent(file, 0, 1ull << 40);
  std::vector<Run> runs;
  for (std::uint64_t at = 0; at < (1ull << 40); at += kWindow) extent->map(at, kWindow, runs);
  CHECK(runs.back().state == BlockState::data);
  CHECK(runs.back().length == 4096);
  CHECK(file->queries <= 3);
}
