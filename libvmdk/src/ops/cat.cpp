// ops::cat: a chain's bytes, in large chunks read through the merged map, to a (sequential) sink.
#include <algorithm>

#include "io/page_buffer.hpp"
#include "vmdk/error.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

CatReport cat(const Chain& chain, ByteSink& out, const CatOptions& options) {
  CatReport report;
  report.offset = options.offset;
  report.length = checked_range(chain.capacity(), options.offset, options.length);
  std::size_t chunk = std::max<std::size_t>(options.chunk_size, 512);
  io::PageBuffer buffer(static_cast<std::size_t>(std::min<std::uint64_t>(chunk, report.length)));
  std::uint64_t done = 0;
  while (done < report.length) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), report.length - done));
    std::span<std::uint8_t> piece(buffer.data(), n);
    chain.read(report.offset + done, piece);
    out.write_at(done, piece);
    done += n;
    if (options.progress) options.progress(done, report.length);
  }
  return report;
}

}  // namespace vmdk
