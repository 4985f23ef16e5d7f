// Reading and mapping a chain through its merged window map (vmdk-format.md 6.3, DESIGN.md
// "Performance"): once a window is resolved, a read costs the same whatever the chain's depth.
#include <algorithm>
#include <cstring>

#include "chain/chain_impl.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace {

void check_range(const Chain& chain, std::uint64_t offset, std::uint64_t length, const char* what) {
  if (offset > chain.capacity() || length > chain.capacity() - offset) {
    throw UsageError(chain.layers().front().disk->path().string(),
                     std::string(what) + " of " + hex(offset) + "+" + hex(length) + " goes past the end of the disk (" +
                         hex(chain.capacity()) + ")");
  }
}

bool mergeable(const ChainRun& a, const ChainRun& b) {
  if (a.offset + a.length != b.offset || a.depth != b.depth || a.present != b.present || a.zero != b.zero ||
      a.data != b.data || a.file != b.file || a.compressed || b.compressed) {
    return false;
  }
  if (a.host_offset == kNoHostOffset || b.host_offset == kNoHostOffset) return a.host_offset == b.host_offset;
  return a.host_offset + a.length == b.host_offset;
}

}  // namespace

void Chain::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
  check_range(*this, offset, out.size(), "read");
  const std::uint64_t end = offset + out.size();
  std::uint64_t pos = offset;
  while (pos < end) {
    const std::uint64_t index = pos / chain::kWindowBytes;
    std::shared_ptr<const chain::Window> window = impl_->cache->get(index);
    const std::uint64_t window_end = std::min(end, (index + 1) * chain::kWindowBytes);
    auto it = std::upper_bound(window->begin(), window->end(), pos,
                               [](std::uint64_t value, const chain::Segment& s) { return value < s.offset; });
    --it;  // segments cover the window from its start, so some segment begins at or before pos
    while (pos < window_end) {
      const chain::Segment& segment = *it;
      std::uint64_t stop = std::min(window_end, segment.offset + segment.length);
      const auto at = static_cast<std::size_t>(pos - offset);
      if (segment.state != BlockState::data) {
        std::memset(out.data() + at, 0, static_cast<std::size_t>(stop - pos));
        pos = stop;
        ++it;
        continue;
      }
      // Neighbouring data segments of one layer go to it in one call: its extent coalesces grains
      // that are contiguous on disk into one large read.
      auto last = it;
      while (stop < window_end && std::next(last) != window->end() && std::next(last)->state == BlockState::data &&
             std::next(last)->depth == segment.depth) {
        ++last;
        stop = std::min(window_end, last->offset + last->length);
      }
      impl_->layers[segment.depth].disk->read(pos, out.subspan(at, static_cast<std::size_t>(stop - pos)));
      pos = stop;
      it = std::next(last);
    }
  }
}

std::vector<ChainRun> Chain::map(std::uint64_t offset, std::uint64_t length) const {
  check_range(*this, offset, length, "map");
  std::vector<ChainRun> runs;
  const std::uint64_t end = offset + length;
  std::uint64_t pos = offset;
  while (pos < end) {
    const std::uint64_t index = pos / chain::kWindowBytes;
    std::shared_ptr<const chain::Window> window = impl_->cache->get(index);
    const std::uint64_t window_end = std::min(end, (index + 1) * chain::kWindowBytes);
    for (const chain::Segment& segment : *window) {
      const std::uint64_t seg_end = segment.offset + segment.length;
      if (seg_end <= pos) continue;
      if (segment.offset >= window_end) break;
      const std::uint64_t lo = std::max(pos, segment.offset);
      const std::uint64_t hi = std::min(window_end, seg_end);
      ChainRun run;
      run.offset = lo;
      run.length = hi - lo;
      run.depth = segment.depth;
      switch (segment.state) {
        case BlockState::data: {
          run.present = true;
          run.data = true;
          const Layer& layer = impl_->layers[segment.depth];
          const ExtentSlot& slot = layer.disk->extents()[segment.extent_index];
          run.file = slot.extent ? slot.extent->host_file() : slot.path.string();
          run.compressed = segment.compressed;
          if (segment.host_offset != kNoHostOffset) {
            run.host_offset = segment.compressed ? segment.host_offset : segment.host_offset + (lo - segment.offset);
          }
          break;
        }
        case BlockState::zero:
          run.present = true;
          run.zero = true;
          break;
        case BlockState::unallocated:
          // QEMU's view: nobody holds it, it reads as zeros, reported at the bottom of the chain.
          run.zero = true;
          run.depth = impl_->layers.size() - 1;
          break;
      }
      if (!runs.empty() && mergeable(runs.back(), run)) {
        runs.back().length += run.length;
      } else {
        runs.push_back(std::move(run));
      }
    }
    pos = window_end;
  }
  return runs;
}

}  // namespace vmdk
