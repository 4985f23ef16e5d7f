// libFuzzer target: Disk::open of a whole disk made of the input bytes (descriptor text, monolithic
// sparse or streamOptimized), then what `info`, `map` and `cat` do with it. The input becomes a file
// in a per-process folder under /dev/shm, beside copies of the fixtures' extent files and of the
// ESXi extents (vmfs, COWD, SESparse) that run.sh makes in $VMDKIT_FUZZ_EXTENTS.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "fuzz_support.hpp"
#include "vmdk/disk.hpp"
#include "vmdk/error.hpp"

using vmdk_fuzz::broken;
using vmdk_fuzz::require;
namespace fs = std::filesystem;

namespace {

// Bytes read per input, in map order: each data run whole, the first 4 KiB of every other run. A disk
// that claims terabytes is mapped in full (one visit per grain table) but read only this far.
constexpr std::uint64_t kReadBudget = 4 << 20;
constexpr std::uint64_t kChunk = 1 << 20;
constexpr std::uint64_t kZeroProbe = 4096;
// Runs checked against block_status per input.
constexpr std::size_t kMaxStatusChecks = 64;

fs::path g_folder;
fs::path g_disk;

void remove_folder() {
  std::error_code ignored;
  fs::remove_all(g_folder, ignored);
}

// Extent files a descriptor seed names (fixtures/generated/flat, single, stream), and every file
// of $VMDKIT_FUZZ_EXTENTS (run.sh's ESXi seeds: their descriptors name these files).
void copy_extent_files() {
  static const char* const kFiles[] = {"flat/flat-flat.vmdk", "flat/esx-flat.vmdk", "flat/esx-000001.vmdk",
                                       "single/single.vmdk",  "stream/stream.vmdk", "chain/chain.vmdk"};
  for (const char* name : kFiles) {
    std::error_code error;
    const fs::path from = fs::path(VMDKIT_FIXTURES_DIR) / name;
    fs::copy_file(from, g_folder / from.filename(), fs::copy_options::overwrite_existing, error);
  }
  const char* extents = std::getenv("VMDKIT_FUZZ_EXTENTS");
  std::error_code error;
  if (extents == nullptr || !fs::is_directory(extents, error)) return;
  for (const fs::directory_entry& entry : fs::directory_iterator(extents, error)) {
    if (!entry.is_regular_file(error) || entry.path().filename() == g_disk.filename()) continue;
    fs::copy_file(entry.path(), g_folder / entry.path().filename(), fs::copy_options::overwrite_existing,
                  error);
  }
}

void write_input(const std::uint8_t* data, std::size_t size) {
  const int fd = ::open(g_disk.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) broken("cannot create " + g_disk.string());
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) broken("cannot write " + g_disk.string());
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

void read_range(const vmdk::Disk& disk, std::uint64_t offset, std::uint64_t length,
                std::vector<std::uint8_t>& buffer) {
  buffer.resize(static_cast<std::size_t>(length));
  disk.read(offset, buffer);
}

// The runs of one map call: contiguous from 0 to the capacity, each inside the slot that answered.
void check_runs(const vmdk::Disk& disk, const std::vector<vmdk::DiskRun>& runs) {
  std::uint64_t pos = 0;
  for (const vmdk::DiskRun& run : runs) {
    require(run.offset == pos && run.length > 0, "map runs are not contiguous");
    require(run.extent_index < disk.extents().size(), "map run names no extent");
    const vmdk::ExtentSlot& slot = disk.extents()[run.extent_index];
    require(run.offset >= slot.start && run.length <= slot.start + slot.length - run.offset,
            "map run leaves its extent");
    pos += run.length;
  }
  require(pos == disk.capacity(), "map does not cover the disk");
}

// block_status at the start of a run says the same state (within the run's slot, for its extent).
void check_status(const vmdk::Disk& disk, const std::vector<vmdk::DiskRun>& runs) {
  for (std::size_t i = 0; i < std::min(runs.size(), kMaxStatusChecks); ++i) {
    const vmdk::DiskRun& run = runs[i];
    const vmdk::ExtentSlot& slot = disk.extents()[run.extent_index];
    if (slot.line.access == vmdk::ExtentAccess::noaccess) continue;  // the disk, not the extent, answers
    const vmdk::Run status = slot.extent->block_status(run.offset - slot.start, run.length);
    require(status.state == run.state, "block_status disagrees with map");
    require(status.length > 0 && status.length <= run.length, "block_status run longer than the map run");
  }
}

void check_reads(const vmdk::Disk& disk, const std::vector<vmdk::DiskRun>& runs) {
  std::uint64_t budget = kReadBudget;
  std::vector<std::uint8_t> buffer;
  std::vector<std::uint8_t> again;
  for (const vmdk::DiskRun& run : runs) {
    if (budget == 0) break;
    if (disk.extents()[run.extent_index].line.access == vmdk::ExtentAccess::noaccess) continue;
    if (run.state != vmdk::BlockState::data) {
      const std::uint64_t length = std::min({run.length, kZeroProbe, budget});
      budget -= length;
      read_range(disk, run.offset, length, buffer);
      require(std::all_of(buffer.begin(), buffer.end(), [](std::uint8_t b) { return b == 0; }),
              "an unallocated or zero run reads as non-zero bytes");
      continue;
    }
    const std::uint64_t length = std::min(run.length, budget);
    budget -= length;
    for (std::uint64_t done = 0; done < length; done += kChunk) {
      read_range(disk, run.offset + done, std::min(kChunk, length - done), buffer);
    }
    // Reads in pieces (odd offset, odd length) must give the bytes of the whole read: grain caches,
    // coalesced preads and partial grains all have to line up.
    if (length > 2 && length <= kChunk) {
      const std::uint64_t skip = length / 3;
      read_range(disk, run.offset + skip, length - skip - 1, again);
      require(std::equal(again.begin(), again.end(), buffer.begin() + static_cast<std::ptrdiff_t>(skip)),
              "a partial read differs from the whole read");
    }
  }
}

void exercise(const vmdk::Disk& disk) {
  (void)disk.allocated_bytes();  // what `info` shows: walks every extent's tables
  for (const vmdk::ExtentSlot& slot : disk.extents()) {
    if (slot.extent) (void)slot.extent->details();
  }
  if (!disk.complete()) {
    // Without allow_missing_extents the same disk must not open.
    try {
      (void)vmdk::Disk::open(g_disk);
    } catch (const vmdk::Error&) {
      return;
    }
    broken("a disk with a missing extent opened without allow_missing_extents");
  }
  std::vector<vmdk::DiskRun> runs;
  disk.map(0, disk.capacity(), runs);
  check_runs(disk, runs);
  check_status(disk, runs);
  check_reads(disk, runs);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // run.sh names a folder it removes afterwards: a crash ends the process before atexit runs.
  const char* given = std::getenv("VMDKIT_FUZZ_TMPDIR");
  const char* shm = "/dev/shm";
  const fs::path base = given != nullptr        ? fs::path(given)
                        : fs::is_directory(shm) ? fs::path(shm)
                                                : fs::temp_directory_path();
  g_folder = base / ("vmdkit-fuzz-" + std::to_string(::getpid()));
  g_disk = g_folder / "disk.vmdk";
  fs::create_directories(g_folder);
  copy_extent_files();
  std::atexit(remove_folder);
  return 0;
}

// Properties: only vmdk::Error escapes, and no UsageError (every call stays inside the disk); the
// map covers the disk exactly with runs that block_status agrees with; unallocated and zero runs
// read as zeros; a re-read of part of a data run gives the same bytes.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  write_input(data, size);
  vmdk::OpenOptions options;
  options.allow_missing_extents = true;  // as `info` opens: broken slots become problem texts
  try {
    const std::unique_ptr<vmdk::Disk> disk = vmdk::Disk::open(g_disk, options);
    exercise(*disk);
  } catch (const vmdk::UsageError& error) {
    // Every call above stays inside the disk and skips what may not be read: a usage error means
    // the library disagrees with itself about its own sizes.
    broken(std::string("usage error from an in-range call: ") + error.what());
  } catch (const vmdk::Error&) {
  }
  return 0;
}
