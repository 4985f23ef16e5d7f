// Range checks shared by the ops that take --offset/--length (cat, map).
#include "vmdk/error.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

std::uint64_t checked_range(std::uint64_t capacity, std::uint64_t offset,
                            std::optional<std::uint64_t> length) {
  if (offset > capacity) {
    throw UsageError("", "offset " + std::to_string(offset) + " (" + hex(offset) +
                             ") is past the end of the disk (capacity " + std::to_string(capacity) +
                             ", " + hex(capacity) + ")");
  }
  std::uint64_t rest = capacity - offset;
  if (!length) return rest;
  if (*length > rest) {
    throw UsageError("", "offset " + std::to_string(offset) + " + length " + std::to_string(*length) +
                             " runs past the end of the disk (capacity " + std::to_string(capacity) +
                             ", " + hex(capacity) + ")");
  }
  return *length;
}

}  // namespace vmdk
