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
