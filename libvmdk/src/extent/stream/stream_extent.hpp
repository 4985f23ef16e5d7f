// Compressed hosted sparse extents (vmdk-format.md 2.12, 3): streamOptimized with grain markers,
// directory at the end (layout A, footer) or in front (layouts B and C), and compressed grains
// without markers (u32 length prefix).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "extent/sparse/kdmv_extent.hpp"

namespace vmdk::stream {

class StreamExtent final : public sparse::KdmvExtentBase {
 public:
  /// layout comes from load_kdmv_layout and must be compressed.
  StreamExtent(std::shared_ptr<const ByteSource> file, sparse::KdmvLayout layout, std::uint64_t size_bytes)
      : KdmvExtentBase(std::move(file), std::move(layout), size_bytes) {}

  /// format "stream"; allocated_bytes = sectors of the grain records referenced (compressed size).
  ExtentDetails details() const override;

 protected:
  void read_compressed(const Piece& p, std::span<std::uint8_t> out) const override;

 private:
  struct Record {
    std::uint64_t data_offset = 0;  ///< byte offset of the compressed bytes
    std::uint32_t size = 0;         ///< compressed bytes
  };
  /// Reads and checks the record header of grain piece p (marker lba, size bounds).
  Record read_record(const Piece& p) const;
  /// The whole decompressed grain of p (zero-filled past the stream's end), cached for small reads.
  std::shared_ptr<const std::vector<std::uint8_t>> grain(const Piece& p) const;

  mutable std::mutex cache_mutex_;
  mutable std::uint64_t cached_host_ = kNoHostOffset;
  mutable std::uint64_t cached_grain_offset_ = 0;  ///< the grain the cached record's marker was checked for
  mutable std::shared_ptr<const std::vector<std::uint8_t>> cached_grain_;
};

}  // namespace vmdk::stream
