// ops::cat: a chain's bytes, in large chunks read through the merged map by reader threads, to a
// sequential sink in order.
#include <algorithm>

#include "ops/common/ordered_reads.hpp"
#include "vmdk/error.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

CatReport cat(const Chain& chain, ByteSink& out, const CatOptions& options) {
  CatReport report;
  report.offset = options.offset;
  report.length = checked_range(chain.capacity(), options.offset, options.length);
  const std::size_t chunk = static_cast<std::size_t>(
      std::min<std::uint64_t>(std::max<std::size_t>(options.chunk_size, 512), report.length));
  const std::uint64_t end = report.offset + report.length;
  std::uint64_t next = report.offset;
  ops::OrderedReadOptions reading;
  reading.max_length = chunk;
  reading.threads = options.read_threads;
  ops::read_in_order(
      [&]() -> std::optional<ops::RangeRead> {
        if (next >= end) return std::nullopt;
        ops::RangeRead range{next, static_cast<std::size_t>(std::min<std::uint64_t>(chunk, end - next))};
        next += range.length;
        return range;
      },
      [&chain](std::uint64_t offset, std::span<std::uint8_t> into) { chain.read(offset, into); },
      [&](const ops::RangeRead& range, std::span<const std::uint8_t> bytes) {
        out.write_at(range.offset - report.offset, bytes);
        if (options.progress) options.progress(range.offset + range.length - report.offset, report.length);
      },
      reading);
  return report;
}

}  // namespace vmdk
