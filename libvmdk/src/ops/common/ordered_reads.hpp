// Sequential scans (cat, convert) read their ranges with several threads and consume them in order.
// Why: on a deep chain a 4 MiB chunk is some twenty reads of scattered grains, and each read costs
// the kernel a fixed few microseconds besides the copy; two readers overlap that work with each
// other and with the consumer (writing to a pipe, a file or a compressor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

namespace vmdk::ops {

struct RangeRead {
  std::uint64_t offset = 0;
  std::size_t length = 0;
};

/// The next range to read, or nullopt at the end. Called in the calling thread only.
using NextRange = std::function<std::optional<RangeRead>()>;
/// Fills `into` with the bytes at offset. Called from reader threads, so it must be thread-safe
/// (Chain::read and the convert sources are).
using ReadRange = std::function<void(std::uint64_t offset, std::span<std::uint8_t> into)>;
/// Takes a range's bytes; called in the calling thread, in the order next() produced the ranges.
using ConsumeRange = std::function<void(const RangeRead& range, std::span<const std::uint8_t> bytes)>;

struct OrderedReadOptions {
  std::size_t max_length = 0;  ///< no range is longer (the size of each buffer)
  /// Reader threads; 0: one per core, at most 4; 1: read in the caller (as is a single range).
  unsigned threads = 0;
};

/// Reads every range next() produces and hands it to consume(), in order. At most two ranges per
/// reader are read ahead of the one being consumed. An exception from read() is rethrown when its
/// range's turn comes (ranges after it may have been read: reading changes nothing), as is one
/// from next() or consume(); reader threads have stopped before the call returns or throws.
void read_in_order(const NextRange& next, const ReadRange& read, const ConsumeRange& consume,
                   const OrderedReadOptions& options);

}  // namespace vmdk::ops
