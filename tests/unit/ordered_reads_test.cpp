// Reader threads of sequential scans (ops/ordered_reads): ranges come back in order with the right
// bytes whatever the thread count, errors surface at their range's turn, and cat, convert and
// compare give the same output with one reader or several; concurrent readers resolve a chain
// window once.
#include "ops/common/ordered_reads.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "chain/window_map.hpp"
#include "support/model_writes.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/convert.hpp"
#include "vmdk/io.hpp"
#include "vmdk/ops.hpp"

using namespace vmdk;
namespace fs = std::filesystem;

namespace {

std::uint8_t byte_at(std::uint64_t offset) { return static_cast<std::uint8_t>((offset * 13 + offset / 509) & 0xff); }

// Ranges of uneven lengths (1 to 5000 bytes) back to back from 0; `count` of them.
ops::NextRange uneven_ranges(std::size_t count, std::vector<ops::RangeRead>& made) {
  return [count, &made]() -> std::optional<ops::RangeRead> {
    if (made.size() == count) return std::nullopt;
    const std::uint64_t offset = made.empty() ? 0 : made.back().offset + made.back().length;
    made.push_back({offset, 1 + (made.size() * 7919) % 5000});
    return made.back();
  };
}

void fill(std::uint64_t offset, std::span<std::uint8_t> into) {
  // Uneven delays so that later ranges often finish before earlier ones.
  if ((offset / 7) % 3 == 0) std::this_thread::yield();
  for (std::size_t i = 0; i < into.size(); ++i) into[i] = byte_at(offset + i);
}

// A 48 MiB chain of five layers with scattered grains, and its expected bytes.
struct ModelChain {
  vmdk_test::TempDir dir{"vmdkit-ordered"};
  std::vector<std::uint8_t> model;
  fs::path leaf = vmdk_test::scattered_chain(dir.path, model);
};

}  // namespace

TEST_CASE("ordered reads come back in order with their bytes for every thread count", "[ops][threads]") {
  for (unsigned threads : {1u, 2u, 3u, 4u, 0u}) {
    INFO("threads " << threads);
    std::vector<ops::RangeRead> made;
    std::size_t consumed = 0;
    bool bytes_ok = true;
    ops::read_in_order(
        uneven_ranges(300, made), fill,
        [&](const ops::RangeRead& range, std::span<const std::uint8_t> bytes) {
          REQUIRE(consumed < made.size());
          CHECK(range.offset == made[consumed].offset);
          CHECK(bytes.size() == made[consumed].length);
          for (std::size_t i = 0; i < bytes.size(); ++i) bytes_ok = bytes_ok && bytes[i] == byte_at(range.offset + i);
          ++consumed;
        },
        {5000, threads});
    CHECK(consumed == 300);
    CHECK(bytes_ok);
  }
}

TEST_CASE("a single range is read in the calling thread and next() is not asked past its end", "[ops][threads]") {
  for (std::size_t count : {0u, 1u, 2u}) {
    INFO(count << " ranges");
    std::size_t calls = 0;
    auto next = [&]() -> std::optional<ops::RangeRead> {
      ++calls;
      if (calls > count) return std::nullopt;
      return ops::RangeRead{calls * 100, 100};
    };
    std::vector<std::thread::id> readers;
    std::mutex readers_mutex;
    auto read = [&](std::uint64_t offset, std::span<std::uint8_t> into) {
      std::lock_guard<std::mutex> lock(readers_mutex);
      readers.push_back(std::this_thread::get_id());
      fill(offset, into);
    };
    std::size_t consumed = 0;
    ops::read_in_order(next, read, [&](auto&&, auto&&) { ++consumed; }, {100, 4});
    CHECK(consumed == count);
    CHECK(calls == count + 1);  // the one nullopt, never asked again
    const bool in_caller = std::all_of(readers.begin(), readers.end(),
                                       [](std::thread::id id) { return id == std::this_thread::get_id(); });
    CHECK(in_caller == (count < 2));
  }
}

TEST_CASE("an ordered read's error surfaces at its turn, after every range before it", "[ops][threads]") {
  for (unsigned threads : {1u, 2u, 4u}) {
    INFO("threads " << threads);
    std::vector<ops::RangeRead> made;
    std::size_t consumed = 0;
    const std::uint64_t bad_offset = [] {
      std::vector<ops::RangeRead> probe;
      auto next = uneven_ranges(38, probe);
      while (next()) {
      }
      return probe.back().offset;  // range number 37
    }();
    auto read = [&](std::uint64_t offset, std::span<std::uint8_t> into) {
      if (offset == bad_offset) throw IoError("bad.vmdk", "read failed here", offset);
      fill(offset, into);
    };
    auto consume = [&](const ops::RangeRead&, std::span<const std::uint8_t>) { ++consumed; };
    CHECK_THROWS_WITH(ops::read_in_order(uneven_ranges(300, made), read, consume, {5000, threads}),
                      Catch::Contains("read failed here"));
    CHECK(consumed == 37);
  }
}

TEST_CASE("ordered reads stop cleanly when the consumer or the producer throws", "[ops][threads]") {
  std::vector<ops::RangeRead> made;
  std::size_t consumed = 0;
  auto stop_at_ten = [&](const ops::RangeRead&, std::span<const std::uint8_t>) {
    if (++consumed == 10) throw std::runtime_error("sink full");
  };
  CHECK_THROWS_WITH(ops::read_in_order(uneven_ranges(300, made), fill, stop_at_ten, {5000, 2}),
                    Catch::Contains("sink full"));
  CHECK(consumed == 10);

  std::size_t produced = 0;
  auto failing_next = [&]() -> std::optional<ops::RangeRead> {
    if (++produced == 20) throw std::runtime_error("map failed");
    return ops::RangeRead{produced * 100, 100};
  };
  consumed = 0;
  CHECK_THROWS_WITH(ops::read_in_order(failing_next, fill, [&](auto&&, auto&&) { ++consumed; }, {100, 2}),
                    Catch::Contains("map failed"));
  CHECK(consumed < 20);

  made.clear();
  CHECK_THROWS_AS(ops::read_in_order(uneven_ranges(3, made), fill, [](auto&&, auto&&) {}, {100, 2}), UsageError);
}

TEST_CASE("cat and convert give the same bytes with one reader thread or several", "[ops][threads][chain]") {
  ModelChain model;
  auto chain = Chain::open(model.leaf);
  for (unsigned threads : {1u, 2u, 4u}) {
    INFO("read threads " << threads);
    MemoryFile out("cat");
    CatOptions cat_options;
    cat_options.read_threads = threads;
    cat_options.chunk_size = 3u << 20;  // chunks that do not line up with the 32 MiB windows
    std::uint64_t last = 0;
    bool forward = true;
    cat_options.progress = [&](std::uint64_t done, std::uint64_t total) {
      forward = forward && done >= last && total == model.model.size();
      last = done;
    };
    vmdk::cat(*chain, out, cat_options);
    CHECK(out.data() == model.model);
    CHECK(forward);
    CHECK(last == model.model.size());

    MemoryFile part("cat part");
    cat_options.offset = 5000001;
    cat_options.length = 20000000;
    vmdk::cat(*chain, part, cat_options);
    CHECK(std::equal(part.data().begin(), part.data().end(), model.model.begin() + 5000001));
    CHECK(part.data().size() == 20000000);

    MemoryFile raw("raw");
    ConvertOptions convert_options;
    convert_options.read_threads = threads;
    convert_options.chunk_size = 1u << 20;
    auto source = chain_source(*chain);
    vmdk::convert_to_sink(*source, raw, convert_options);
    CHECK(raw.data() == model.model);
  }
}

namespace {

// A raw image of bytes with holes where whole 64 KiB blocks are zero (compare skips ranges that
// neither side can hold data in, so a difference inside a hole of the chain must still be found).
void write_sparse_raw(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  auto file = File::open(path, File::Mode::create_truncate);
  file->resize(bytes.size());
  constexpr std::size_t kBlock = 65536;
  for (std::size_t at = 0; at < bytes.size(); at += kBlock) {
    std::span<const std::uint8_t> block(bytes.data() + at, std::min(kBlock, bytes.size() - at));
    if (std::any_of(block.begin(), block.end(), [](std::uint8_t b) { return b != 0; })) file->write_at(at, block);
  }
}

}  // namespace

TEST_CASE("compare finds the first difference with one reader thread or several", "[ops][threads][chain]") {
  ModelChain model;
  const std::uint64_t size = model.model.size();
  const std::size_t chunk = 3u << 20;  // 1.5 MiB of each side per range: not aligned with the windows
  // One difference in a written grain, one in a range where no layer of the chain holds data.
  const std::uint64_t in_data = 53 * 65536 + 100 + 4321;
  REQUIRE(model.model[in_data] != 0);
  std::uint64_t in_hole = 0;
  for (std::uint64_t at = 0; at + chunk / 2 <= size; at += chunk / 2) {
    auto range = model.model.begin() + static_cast<std::ptrdiff_t>(at);
    if (std::all_of(range, range + chunk / 2, [](std::uint8_t b) { return b == 0; })) in_hole = at + 777;
  }
  REQUIRE(in_hole != 0);

  const fs::path same = model.dir / "same.raw";
  write_sparse_raw(same, model.model);
  std::vector<std::uint8_t> changed = model.model;
  changed[in_data] ^= 0x5a;
  changed[in_hole] = 1;
  const fs::path both = model.dir / "both.raw";
  write_sparse_raw(both, changed);
  changed[in_data] = model.model[in_data];
  const fs::path hole_only = model.dir / "hole.raw";
  write_sparse_raw(hole_only, changed);

  for (unsigned threads : {1u, 2u, 4u}) {
    INFO("read threads " << threads);
    CompareOptions options;
    options.read_threads = threads;
    options.chunk_size = chunk;
    std::uint64_t last = 0;
    bool forward = true;
    options.progress = [&](std::uint64_t done, std::uint64_t total) {
      forward = forward && done >= last && total == size;
      last = done;
    };
    CompareReport report = vmdk::compare(model.leaf, same, options);
    CHECK(report.identical);
    CHECK(forward);
    CHECK(last == size);

    report = vmdk::compare(model.leaf, both, options);
    CHECK_FALSE(report.identical);
    CHECK(report.first_difference == std::optional<std::uint64_t>(in_data));
    // Either side may be the one holding data there.
    report = vmdk::compare(model.leaf, hole_only, options);
    CHECK(report.first_difference == std::optional<std::uint64_t>(in_hole));
    report = vmdk::compare(hole_only, model.leaf, options);
    CHECK(report.first_difference == std::optional<std::uint64_t>(in_hole));
  }
}

TEST_CASE("compressed grains read the same with several readers", "[ops][threads][stream]") {
  // streamOptimized extents keep the last decompressed grain for small reads: readers share it.
  ModelChain model;
  auto chain = Chain::open(model.leaf);
  ConvertOptions to_stream;
  to_stream.type = DiskType::stream_optimized;
  const fs::path stream = model.dir / "stream.vmdk";
  vmdk::convert(*chain_source(*chain), stream, to_stream);
  auto stream_chain = Chain::open(stream);
  for (unsigned threads : {1u, 4u}) {
    INFO("read threads " << threads);
    MemoryFile out("cat");
    CatOptions options;
    options.read_threads = threads;
    options.chunk_size = 100000;  // chunk edges inside compressed grains
    vmdk::cat(*stream_chain, out, options);
    CHECK(out.data() == model.model);
  }
}

TEST_CASE("readers arriving at a new window together resolve it once", "[chain][threads]") {
  ModelChain model;
  auto chain = Chain::open(model.leaf);
  const std::size_t layers = chain->layers().size();
  for (std::uint64_t window : {0ull, 1ull}) {
    const std::uint64_t before = chain::layer_map_calls();
    std::latch start(4);
    std::vector<std::thread> readers;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t) {
      readers.emplace_back([&, t] {
        std::vector<std::uint8_t> piece(100000);
        const std::uint64_t offset = window * chain::kWindowBytes + static_cast<std::uint64_t>(t) * 1000003;
        start.arrive_and_wait();
        chain->read(offset, piece);
        if (!std::equal(piece.begin(), piece.end(), model.model.begin() + static_cast<std::ptrdiff_t>(offset))) ++wrong;
      });
    }
    for (auto& reader : readers) reader.join();
    CHECK(wrong == 0);
    // One map call per layer: a window resolved twice would show twice as many.
    CHECK(chain::layer_map_calls() - before == layers);
  }
}
