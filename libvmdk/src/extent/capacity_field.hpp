// A capacity field read from a header for a descriptor that is being rebuilt: the checks every
// kind's rebuild_capacity() shares (not zero, not beyond what a sparse extent can address).
#pragma once

#include <cstdint>
#include <string>

#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::extent {

/// sectors in bytes; FormatError "<field> at <offset> is 0..." / "...too large" naming file.
inline std::uint64_t capacity_field_bytes(std::uint64_t sectors, const std::string& file,
                                          const std::string& field, std::uint64_t offset) {
  const std::string at = field + " at " + hex(offset);
  if (sectors == 0) throw FormatError(file, at + " is 0: the extent has no capacity", offset);
  if (sectors > format::kMaxSparseCapacitySectors) {
    throw FormatError(file, at + " is " + hex(sectors) + " sectors, too large", offset);
  }
  return sectors * format::kSectorSize;
}

}  // namespace vmdk::extent
