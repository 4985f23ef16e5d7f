// Disk: the extent slots of one link laid end to end (vmdk-format.md 6.1 step 2); map and read
// dispatch each piece of a range to the slot that covers it.
#include <algorithm>
#include <cstring>

#include "disk/slot_lookup.hpp"
#include "vmdk/disk.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

bool Disk::complete() const {
  return std::all_of(slots_.begin(), slots_.end(), [](const ExtentSlot& slot) { return slot.extent != nullptr; });
}

std::uint64_t Disk::allocated_bytes() const {
  std::uint64_t total = 0;
  for (const ExtentSlot& slot : slots_) {
    if (slot.extent) total += slot.extent->details().allocated_bytes;
  }
  return total;
}

void Disk::map(std::uint64_t offset, std::uint64_t length, std::vector<DiskRun>& out) const {
  if (offset > capacity_ || length > capacity_ - offset) {
    throw UsageError(path_.string(), "map of " + hex(offset) + "+" + hex(length) + " goes past the end of the disk (" +
                                         hex(capacity_) + ")");
  }
  if (length == 0) return;
  // Reused across calls: a deep chain maps every layer for every window it resolves.
  thread_local std::vector<Run> runs;
  std::uint64_t pos = offset;
  const std::uint64_t end = offset + length;
  for (std::size_t index = disk::slot_index(slots_, pos); pos < end; ++index) {
    const ExtentSlot& slot = slots_[index];
    const std::uint64_t piece = std::min(end, slot.start + slot.length) - pos;
    if (piece == 0) continue;  // an empty extent line covers nothing
    if (!slot.extent) {
      throw UsageError(path_.string(), disk::slot_label(index, slot) + " cannot be mapped: " + slot.problem.text());
    }
    if (slot.line.access == ExtentAccess::noaccess) {
      // The bytes exist but may not be read: data of this layer, with no place to point at.
      out.push_back(DiskRun{{pos, piece, BlockState::data, kNoHostOffset, false}, index});
    } else {
      runs.clear();
      slot.extent->map(pos - slot.start, piece, runs);
      for (const Run& run : runs) {
        DiskRun disk_run{run, index};
        disk_run.offset = run.offset + slot.start;
        out.push_back(disk_run);
      }
    }
    pos += piece;
  }
}

void Disk::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
  if (offset > capacity_ || out.size() > capacity_ - offset) {
    throw UsageError(path_.string(), "read of " + hex(offset) + "+" + hex(out.size()) +
                                         " goes past the end of the disk (" + hex(capacity_) + ")");
  }
  std::uint64_t pos = offset;
  std::size_t done = 0;
  for (std::size_t index = out.empty() ? 0 : disk::slot_index(slots_, pos); done < out.size(); ++index) {
    const ExtentSlot& slot = slots_[index];
    const std::size_t piece = static_cast<std::size_t>(std::min<std::uint64_t>(slot.start + slot.length - pos, out.size() - done));
    if (piece == 0) continue;
    if (!slot.extent) {
      throw UsageError(path_.string(), disk::slot_label(index, slot) + " cannot be read: " + slot.problem.text());
    }
    if (slot.line.access == ExtentAccess::noaccess) {
      throw UsageError(path_.string(), disk::slot_label(index, slot) + " is NOACCESS: its bytes at " + hex(pos) +
                                           " may not be read");
    }
    slot.extent->read(pos - slot.start, out.subspan(done, piece));
    pos += piece;
    done += piece;
  }
}

}  // namespace vmdk
