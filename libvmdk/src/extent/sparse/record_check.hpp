// Check of one compressed grain record for `check` (vmdk-format.md 3.2, 3.3): its marker or length
// prefix, its place in the file, and its zlib data decompressed in full, as a read would.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "extent/sparse/kdmv_layout.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sparse {

/// What is wrong with a compressed grain record, if anything.
struct RecordProblem {
  enum class Kind { none, record, data };
  Kind kind = Kind::none;  ///< record: marker/length/bounds (grain_marker_invalid); data: inflate fails
  std::string reason;      ///< lower case, for the finding's message
};

/// Checks records one after another with two reused buffers: memory stays at about three grains
/// whatever the number of grains.
class RecordChecker {
 public:
  RecordChecker(const ByteSource& file, const KdmvLayout& layout) : file_(file), layout_(layout) {}

  /// The record at byte start of the grain at extent offset grain_offset, of which grain_bytes
  /// are mapped (the last grain of an unaligned capacity is shorter). Throws only IoError.
  RecordProblem check(std::uint64_t start, std::uint64_t grain_offset, std::uint64_t grain_bytes);

 private:
  const ByteSource& file_;
  const KdmvLayout& layout_;
  std::vector<std::uint8_t> compressed_;
  std::vector<std::uint8_t> grain_;
};

}  // namespace vmdk::sparse
