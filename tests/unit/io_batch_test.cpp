// Batched reads (io_uring and the preadv fallback), the huge-page buffers and the block pool, and
// read-only opens that leave a file's access time alone.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "io/batch_read.hpp"
#include "io/block_pool.hpp"
#include "io/page_buffer.hpp"
#include "support/model_writes.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/io.hpp"

using namespace vmdk;
namespace fs = std::filesystem;

namespace {

// Byte i of the test files: not periodic at any small power of two, so a misplaced piece shows.
std::uint8_t file_byte(std::uint64_t i, std::uint8_t salt) { return static_cast<std::uint8_t>((i * 7 + i / 251 + salt) & 0xff); }

fs::path make_file(const fs::path& path, std::size_t size, std::uint8_t salt) {
  std::vector<char> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(file_byte(i, salt));
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
  return path;
}

// Writes a file's pages back and drops them from the page cache. False when some stay (tmpfs keeps
// its pages; a page cache that refuses the advice): mincore says so without reading anything,
// since a probe read would start the kernel's readahead and bring them back.
bool evict_from_page_cache(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const auto size = static_cast<std::size_t>(fs::file_size(path));
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  bool evicted = false;
  void* map = size == 0 ? MAP_FAILED : ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map != MAP_FAILED) {
    std::vector<unsigned char> resident((size + 4095) / 4096);
    evicted = ::mincore(map, size, resident.data()) == 0 &&
              std::none_of(resident.begin(), resident.end(), [](unsigned char r) { return (r & 1) != 0; });
    ::munmap(map, size);
  }
  ::close(fd);
  return evicted;
}

// Restores io_uring use when a test ends, whatever it set.
struct RingSetting {
  ~RingSetting() { io::set_io_uring_enabled(true); }
};

// One batch over two files and a memory source: single and scattered reads, more reads than the
// ring has entries, a read that ends past the end of its file and one that starts there. With
// cold, the files are dropped from the page cache first; returns whether they were.
bool check_batch(bool ring, bool cold = false) {
  RingSetting restore;
  io::set_io_uring_enabled(ring);
  vmdk_test::TempDir dir("vmdkit-batch");
  const std::size_t size = 3u << 20;
  auto a = File::open(make_file(dir / "a.bin", size, 1));
  auto b = File::open(make_file(dir / "b.bin", size, 2));
  const bool evicted = cold && evict_from_page_cache(dir / "a.bin") && evict_from_page_cache(dir / "b.bin");
  std::vector<std::uint8_t> memory_bytes(4096, 0x5a);
  MemoryFile memory("memory");
  memory.write_at(0, memory_bytes);

  std::vector<std::uint8_t> out(8u << 20, 0xee);
  std::vector<std::vector<std::span<std::uint8_t>>> parts;
  std::vector<io::BatchRead> reads;
  struct Expect {
    const ByteSource* source;
    std::uint64_t offset;
    std::size_t got;
    std::uint8_t salt;
  };
  std::vector<Expect> expect;
  std::size_t at = 0;
  constexpr std::size_t kFull = std::numeric_limits<std::size_t>::max();  // expected: every byte asked for
  auto add = [&](const ByteSource* source, std::uint64_t offset, std::vector<std::size_t> sizes, std::size_t got,
                 std::uint8_t salt) {
    std::vector<std::span<std::uint8_t>> list;
    for (std::size_t s : sizes) {
      list.emplace_back(out.data() + at, s);
      at += s + 512;  // a gap between parts: scattered destinations
    }
    parts.push_back(std::move(list));
    io::BatchRead read;
    read.source = source;
    read.offset = offset;
    read.bytes = std::accumulate(sizes.begin(), sizes.end(), std::size_t{0});
    reads.push_back(read);
    expect.push_back({source, offset, got == kFull ? read.bytes : got, salt});
  };
  for (int i = 0; i < 150; ++i) {  // more than the 64 ring entries: the ring is drained and refilled
    const File* file = i % 2 == 0 ? a.get() : b.get();
    add(file, static_cast<std::uint64_t>(i) * 12345 % (size - 70000), {4096 + static_cast<std::size_t>(i) * 100}, kFull,
        i % 2 == 0 ? 1 : 2);
  }
  add(a.get(), 1000, {512, 65536, 3}, kFull, 1);    // one scattered read
  add(b.get(), size - 1000, {4096}, 1000, 2);       // ends past the end of the file: short
  add(a.get(), size + 4096, {4096}, 0, 1);          // starts past the end: nothing
  add(&memory, 100, {1000}, kFull, 0);              // not a host file: read directly
  for (std::size_t i = 0; i < reads.size(); ++i) reads[i].parts = parts[i];
  io::read_batch(reads);

  for (std::size_t i = 0; i < reads.size(); ++i) {
    INFO("read " << i << " at " << reads[i].offset);
    REQUIRE(reads[i].got == expect[i].got);
    std::uint64_t pos = reads[i].offset;
    std::size_t left = reads[i].got;
    for (std::span<std::uint8_t> part : parts[i]) {
      for (std::size_t k = 0; k < part.size() && left > 0; ++k, ++pos, --left) {
        const std::uint8_t want = expect[i].source == &memory ? 0x5a : file_byte(pos, expect[i].salt);
        if (part[k] != want) FAIL("byte " << pos << " is " << int(part[k]) << ", expected " << int(want));
      }
    }
  }
  return evicted;
}

}  // namespace

TEST_CASE("read_batch fills every read the same with and without io_uring", "[io]") {
  SECTION("io_uring") {
    check_batch(true);
    if (!io::io_uring_used()) WARN("io_uring is not available here: only the preadv path was tested");
  }
  SECTION("io_uring, files not in the page cache") {
    // The ring only takes what the page cache holds: the reads that would wait for the disk are
    // done again with preadv, and must land the same.
    if (!check_batch(true, true)) {
      WARN("the test files could not be dropped from the page cache here: only cached reads were tested");
    }
  }
  SECTION("preadv") {
    check_batch(false);
    CHECK_FALSE(io::io_uring_used());
  }
}

TEST_CASE("a chain reads the same bytes with and without io_uring", "[io][chain]") {
  RingSetting restore;
  vmdk_test::TempDir dir("vmdkit-batch-chain");
  std::vector<std::uint8_t> model;
  const fs::path leaf = vmdk_test::scattered_chain(dir.path, model);
  io::set_io_uring_enabled(true);
  CHECK(vmdk_test::read_chain(leaf) == model);
  io::set_io_uring_enabled(false);
  CHECK(vmdk_test::read_chain(leaf) == model);
  // And from the disk: every layer dropped from the page cache first.
  io::set_io_uring_enabled(true);
  bool evicted = true;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir.path)) {
    evicted = evict_from_page_cache(entry.path()) && evicted;
  }
  if (!evicted) WARN("the chain's files could not be dropped from the page cache here");
  CHECK(vmdk_test::read_chain(leaf) == model);
}

TEST_CASE("page buffers are aligned, writable and movable", "[io]") {
  io::PageBuffer empty;
  CHECK(empty.size() == 0);
  io::PageBuffer small(1000);
  REQUIRE(small.size() == 1000);
  std::memset(small.data(), 0x11, small.size());
  io::PageBuffer big(5u << 20, io::PageBuffer::Touch::later);
  REQUIRE(big.size() == (5u << 20));
  CHECK(reinterpret_cast<std::uintptr_t>(big.data()) % (2u << 20) == 0);  // huge-page aligned
  big.data()[big.size() - 1] = 7;
  io::PageBuffer moved(std::move(big));
  CHECK(big.data() == nullptr);
  CHECK(moved.data()[moved.size() - 1] == 7);
  small = std::move(moved);
  CHECK(small.size() == (5u << 20));
}

TEST_CASE("the block pool recycles freed blocks and serves every size", "[io]") {
  void* first = nullptr;
  {
    auto block = io::pooled_array<std::uint32_t>(512);  // 2 KiB: the 4 KiB class
    first = block.get();
    CHECK(reinterpret_cast<std::uintptr_t>(first) % 64 == 0);
    std::fill_n(block.get(), 512, 0xabcdef01u);
  }
  auto again = io::pooled_array<std::uint32_t>(1000);  // same class: the freed block comes back
  CHECK(static_cast<void*>(again.get()) == first);

  // Every class, a block larger than a chunk, and blocks alive at the same time never overlap.
  std::vector<std::shared_ptr<std::uint8_t[]>> live;
  std::set<std::pair<std::uintptr_t, std::size_t>> spans;
  for (std::size_t bytes : {1ul, 4096ul, 5000ul, 65536ul, 131072ul, 1ul << 20, 2ul << 20, 3ul << 20, 700ul}) {
    auto block = io::pooled_array<std::uint8_t>(bytes);
    std::memset(block.get(), static_cast<int>(live.size() + 1), bytes);  // fill 1, 2, 3, ...
    spans.insert({reinterpret_cast<std::uintptr_t>(block.get()), bytes});
    live.push_back(block);
  }
  std::uintptr_t end = 0;
  for (const auto& [start, bytes] : spans) {
    CHECK(start >= end);
    end = start + bytes;
  }
  // Contents survive the other allocations: each block still holds its own fill.
  CHECK(live[3][65535] == 4);
  CHECK(live[7][(3ul << 20) - 1] == 8);
  CHECK(live[8][0] == 9);

  // Threads taking and returning blocks at once (the sanitizer build checks the locking).
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        auto block = io::pooled_array<std::uint32_t>(static_cast<std::size_t>(256 << (i % 6)));
        block[0] = static_cast<std::uint32_t>(t);
        REQUIRE(block[0] == static_cast<std::uint32_t>(t));
      }
    });
  }
  for (auto& thread : threads) thread.join();
}

TEST_CASE("reading a file through vmdkit leaves its access time alone", "[io]") {
  vmdk_test::TempDir dir("vmdkit-atime");
  const fs::path path = make_file(dir / "disk.bin", 65536, 3);
  const struct timespec old_times[2] = {{1000000000, 0}, {UTIME_OMIT, 0}};  // atime in 2001
  auto atime = [&] {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_atim.tv_sec;
  };
  // Only meaningful where reads update access times (not on noatime mounts): check that first.
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), old_times, 0) == 0);
  {
    std::ifstream plain(path, std::ios::binary);
    char byte = 0;
    plain.read(&byte, 1);
  }
  if (atime() == 1000000000) {
    WARN("this file system does not update access times on reads; nothing to check");
    return;
  }
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), old_times, 0) == 0);
  auto file = File::open(path);
  std::vector<std::uint8_t> bytes(4096);
  CHECK(file->read_at(0, bytes) == bytes.size());
  CHECK(atime() == 1000000000);
}
