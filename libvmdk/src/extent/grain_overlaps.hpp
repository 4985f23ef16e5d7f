// Table entries of one extent whose grains overlap (check, vmdk-format.md 7.1): two entries naming
// one grain make a write through either show up in both ranges, so neither can be trusted. A
// bitmap of the file's allocation units keeps the cost at one bit per unit (a vmfsSparse delta has
// 512-byte grains, so a list of every allocated entry could take gigabytes).
#pragma once

#include <cstdint>
#include <vector>

namespace vmdk::extent {

class GrainOverlaps {
 public:
  /// units: how many allocation units (sectors, grain slots) the extent's grains can occupy.
  explicit GrainOverlaps(std::uint64_t units);

  /// First pass: an entry uses units [first, first + count) (clipped to the units). Marks the
  /// units already used by an earlier entry.
  void use(std::uint64_t first, std::uint64_t count);
  /// True when some unit was used twice: a second pass must name the entries.
  bool found() const { return found_; }
  /// Second pass: true when [first, first + count) holds a unit used twice (so every entry of a
  /// collision is named, the first one too).
  bool shared(std::uint64_t first, std::uint64_t count) const;

 private:
  std::uint64_t units_;
  std::vector<std::uint64_t> used_;
  std::vector<std::uint64_t> twice_;
  bool found_ = false;
};

}  // namespace vmdk::extent
