// GrainOverlaps: two bitmaps over the allocation units of one extent.
#include "extent/grain_overlaps.hpp"

#include <algorithm>

namespace vmdk::extent {

namespace {
bool test(const std::vector<std::uint64_t>& bits, std::uint64_t unit) { return (bits[unit / 64] >> (unit % 64)) & 1u; }
void set(std::vector<std::uint64_t>& bits, std::uint64_t unit) { bits[unit / 64] |= std::uint64_t{1} << (unit % 64); }
}  // namespace

GrainOverlaps::GrainOverlaps(std::uint64_t units)
    : units_(units), used_(static_cast<std::size_t>((units + 63) / 64)), twice_(used_.size()) {}

void GrainOverlaps::use(std::uint64_t first, std::uint64_t count) {
  const std::uint64_t end = first < units_ ? std::min(units_, first + count) : first;
  for (std::uint64_t unit = first; unit < end; ++unit) {
    if (test(used_, unit)) {
      set(twice_, unit);
      found_ = true;
    } else {
      set(used_, unit);
    }
  }
}

bool GrainOverlaps::shared(std::uint64_t first, std::uint64_t count) const {
  const std::uint64_t end = first < units_ ? std::min(units_, first + count) : first;
  for (std::uint64_t unit = first; unit < end; ++unit) {
    if (test(twice_, unit)) return true;
  }
  return false;
}

}  // namespace vmdk::extent
