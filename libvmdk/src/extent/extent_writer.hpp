// Writers that produce a new extent file front to back (create, convert, fixtures): the reader's
// counterpart for sparse, stream and flat extents. Data arrives in ascending offsets.
#pragma once

#include <cstdint>
#include <span>

namespace vmdk {

class ExtentWriter {
 public:
  virtual ~ExtentWriter() = default;
  /// Virtual bytes the extent covers (its descriptor line's size).
  virtual std::uint64_t size() const = 0;
  /// Stores data at extent offset `offset`. Calls never go backwards (offset >= the end of the
  /// previous call) and stay inside size(). Any alignment is accepted: a grain written in pieces
  /// by consecutive calls is stored once the writer moves past it or at finish(). Ranges never
  /// written, and grains that are all zeros, are not stored (they read as zeros). Throws IoError,
  /// UsageError for a call that goes backwards or past the end.
  virtual void write(std::uint64_t offset, std::span<const std::uint8_t> data) = 0;
  /// Writes the remaining metadata and makes the file durable (fsync on files). Nothing may be
  /// written afterwards. Throws IoError.
  virtual void finish() = 0;
  /// Bytes of the output file so far (its final size after finish()).
  virtual std::uint64_t file_bytes() const = 0;
};

}  // namespace vmdk
