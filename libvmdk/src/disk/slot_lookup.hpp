// Finding and naming a disk's extent slots, shared by Disk's map and read and by the chain's
// expanse probe (which walks slots across extent lines the same way).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "vmdk/disk.hpp"

namespace vmdk::disk {

/// Index of the slot holding virtual byte offset (slots are sorted by start and contiguous).
inline std::size_t slot_index(const std::vector<ExtentSlot>& slots, std::uint64_t offset) {
  auto it = std::upper_bound(slots.begin(), slots.end(), offset,
                             [](std::uint64_t value, const ExtentSlot& slot) { return value < slot.start; });
  return static_cast<std::size_t>(it - slots.begin()) - 1;
}

/// "extent N (TYPE "file")", as messages about one extent line name it.
inline std::string slot_label(std::size_t index, const ExtentSlot& slot) {
  std::string label = "extent " + std::to_string(index + 1) + " (" + std::string(to_string(slot.line.type));
  if (!slot.line.file.empty()) label += " \"" + slot.line.file + "\"";
  return label + ")";
}

}  // namespace vmdk::disk
