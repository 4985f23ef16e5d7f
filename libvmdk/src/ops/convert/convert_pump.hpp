// The read loop of convert: walks the source's map window by window and hands every data range to
// a consumer in ascending order, reading neighbouring ranges with one large read (DESIGN.md
// Performance), several reads ahead on reader threads. Zero and unallocated ranges cost no I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "vmdk/convert.hpp"

namespace vmdk::ops {

/// Called with the bytes of a data range at its disk offset; ranges come in ascending order.
using DataConsumer = std::function<void(std::uint64_t offset, std::span<const std::uint8_t> data)>;

/// Reads every data range of source and passes it to consume; reports progress over the capacity.
/// read_threads: readers working ahead of consume (ops/ordered_reads.hpp; 0 = one per core).
void pump_data(const ConvertSource& source, std::size_t chunk_size, unsigned read_threads,
               const ProgressCallback& progress, const DataConsumer& consume);

/// True when the n bytes at p are all zero.
bool all_zero(const std::uint8_t* p, std::size_t n);

}  // namespace vmdk::ops
