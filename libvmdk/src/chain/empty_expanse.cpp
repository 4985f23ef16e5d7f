// ExpanseProbe: the layers are asked top down, as the window map does, and the first that answers
// decides; the expanse ends where the first of the layers asked changes state.
#include "chain/empty_expanse.hpp"

#include <algorithm>
#include <string>

#include "disk/slot_lookup.hpp"
#include "vmdk/error.hpp"

namespace vmdk::chain {

namespace {

// The run of disk that starts at offset (< capacity), at most max_len long: one extent's block
// status, carried on across the following extent lines while it is not data, so that an
// unallocated or zero expanse of any size is one run. Throws like Disk::map for a slot without an
// extent.
DiskRun expanse_layer_status(const Disk& disk, std::uint64_t offset, std::uint64_t max_len) {
  const std::vector<ExtentSlot>& slots = disk.extents();
  const std::uint64_t end = offset + std::min(max_len, disk.capacity() - offset);
  DiskRun result;
  std::uint64_t pos = offset;
  for (std::size_t index = vmdk::disk::slot_index(slots, offset); pos < end; ++index) {
    const ExtentSlot& slot = slots[index];
    const std::uint64_t piece = std::min(end, slot.start + slot.length) - pos;
    if (piece == 0) continue;  // an empty extent line covers nothing
    if (!slot.extent && pos != offset) break;  // a later line is asked only when the map gets there
    if (!slot.extent) {
      // The words of Disk::map, which would say the same a moment later.
      throw UsageError(disk.path().string(),
                       vmdk::disk::slot_label(index, slot) + " cannot be mapped: " + slot.problem.text());
    }
    Run run{pos - slot.start, piece, BlockState::data, kNoHostOffset, false};
    if (slot.line.access != ExtentAccess::noaccess) run = slot.extent->block_status(pos - slot.start, piece);
    run.offset += slot.start;
    if (pos == offset) {
      result = DiskRun{run, index};
    } else if (run.state == result.state && run.host_offset == kNoHostOffset) {  // not a flat file's hole
      result.length += run.length;
    } else {
      break;
    }
    // Only an expanse that fills its extent to the end goes on into the next line.
    if (run.state == BlockState::data || run.length < piece) break;
    pos += piece;
  }
  return result;
}

}  // namespace

DiskRun ExpanseProbe::status(std::size_t depth, std::uint64_t pos, std::uint64_t end) {
  std::optional<DiskRun>& known = known_[depth];
  if (!known || pos < known->offset || pos - known->offset >= known->length) {
    known = expanse_layer_status(*layers_[depth].disk, pos, end - pos);
  }
  return *known;
}

Expanse ExpanseProbe::at(std::uint64_t pos, std::uint64_t end) {
  std::uint64_t limit = end;
  for (std::size_t depth = 0; depth < layers_.size(); ++depth) {
    // A layer is asked only over what every layer above leaves unallocated, as the window map
    // does: damage it hides stays hidden.
    const DiskRun run = status(depth, pos, limit);
    limit = std::min(limit, run.offset + run.length);
    // A hole of a flat file (zeros at a host offset) is mapped like data, as QEMU shows it
    // (data and zero, with its offset): the window map names its file and offset.
    if (run.state == BlockState::data || run.host_offset != kNoHostOffset) return {};
    if (run.state == BlockState::zero) return {limit - pos, BlockState::zero, static_cast<std::uint32_t>(depth)};
  }
  const auto bottom = static_cast<std::uint32_t>(layers_.empty() ? 0 : layers_.size() - 1);
  return {limit - pos, BlockState::unallocated, bottom};
}

}  // namespace vmdk::chain
