// Reading and mapping a chain through its merged window map (vmdk-format.md 6.3, DESIGN.md
// "Performance"): once a window is resolved, a read costs the same whatever the chain's depth.
#include <algorithm>
#include <cstring>
#include <functional>

#include "chain/chain_impl.hpp"
#include "chain/empty_expanse.hpp"
#include "io/batch_read.hpp"
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

// Appends an expanse without data as the window map would show it: zeros of the layer that holds
// them, or unallocated (reported at the bottom of the chain, as QEMU does).
void append_expanse(std::vector<ChainRun>& runs, std::uint64_t pos, const chain::Expanse& expanse,
                    std::size_t layer_count) {
  ChainRun run;
  run.offset = pos;
  run.length = expanse.length;
  run.zero = true;
  run.present = expanse.state == BlockState::zero;
  run.depth = expanse.state == BlockState::zero ? expanse.depth : layer_count - 1;
  if (!runs.empty() && mergeable(runs.back(), run)) {
    runs.back().length += run.length;
  } else {
    runs.push_back(std::move(run));
  }
}

}  // namespace

namespace {

// Data pieces of one read whose bytes can be taken straight from a host file. They are sorted by
// file and host offset and read with one scatter read per host-contiguous run: a layer's grains
// that lie back to back in its file cost one system call even when other layers' grains sit
// between them in the disk image (that is what keeps deep chains as cheap as shallow ones).
class HostGather {
 public:
  void add(const ByteSource* source, std::uint64_t host, std::span<std::uint8_t> into) {
    pieces_.push_back({source, host, into});
  }

  void read_all() {
    std::sort(pieces_.begin(), pieces_.end(), [](const Piece& a, const Piece& b) {
      return a.source != b.source ? std::less<const ByteSource*>()(a.source, b.source) : a.host < b.host;
    });
    // Host-contiguous pieces of one file form one read; all reads go to the kernel as one batch.
    parts_.clear();
    parts_.reserve(pieces_.size());
    reads_.clear();
    for (std::size_t i = 0; i < pieces_.size();) {
      const Piece& first = pieces_[i];
      io::BatchRead read;
      read.source = first.source;
      read.offset = first.host;
      read.bytes = first.into.size();
      const std::size_t first_part = parts_.size();
      parts_.push_back(first.into);
      std::size_t j = i + 1;
      while (j < pieces_.size() && pieces_[j].source == first.source && pieces_[j].host == first.host + read.bytes &&
             read.bytes < kMaxGatherBytes) {
        parts_.push_back(pieces_[j].into);
        read.bytes += pieces_[j].into.size();
        ++j;
      }
      // parts_ was reserved for every piece, so this view stays valid while reads_ grows.
      read.parts = std::span<const std::span<std::uint8_t>>(parts_.data() + first_part, j - i);
      reads_.push_back(read);
      i = j;
    }
    io::read_batch(reads_);
    for (const io::BatchRead& read : reads_) {
      if (read.got != read.bytes) {
        throw FormatError(read.source->name(), "data at " + hex(read.offset) +
                                                   " is cut short by the end of the file (" +
                                                   hex(read.source->size()) + ")",
                          read.offset);
      }
    }
    pieces_.clear();
  }

 private:
  static constexpr std::size_t kMaxGatherBytes = 64u << 20;
  struct Piece {
    const ByteSource* source;
    std::uint64_t host;
    std::span<std::uint8_t> into;
  };
  std::vector<Piece> pieces_;
  std::vector<std::span<std::uint8_t>> parts_;
  std::vector<io::BatchRead> reads_;
};

}  // namespace

void Chain::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
  check_range(*this, offset, out.size(), "read");
  const std::uint64_t end = offset + out.size();
  HostGather gather;
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
      const auto length = static_cast<std::size_t>(stop - pos);
      if (segment.state != BlockState::data) {
        std::memset(out.data() + at, 0, length);
        pos = stop;
        ++it;
        continue;
      }
      const Disk& disk = *impl_->layers[segment.depth].disk;
      const ExtentSlot& slot = disk.extents()[segment.extent_index];
      const ByteSource* source = slot.extent ? slot.extent->host_source() : nullptr;
      if (source != nullptr && !segment.compressed && segment.host_offset != kNoHostOffset) {
        gather.add(source, segment.host_offset + (pos - segment.offset), out.subspan(at, length));
        pos = stop;
        ++it;
        continue;
      }
      // Compressed grains and the like go through their extent, neighbouring segments of one
      // layer in one call.
      auto last = it;
      while (stop < window_end && std::next(last) != window->end() && std::next(last)->state == BlockState::data &&
             std::next(last)->depth == segment.depth) {
        ++last;
        stop = std::min(window_end, last->offset + last->length);
      }
      disk.read(pos, out.subspan(at, static_cast<std::size_t>(stop - pos)));
      pos = stop;
      it = std::next(last);
    }
  }
  gather.read_all();
}

namespace {

// The file and host offset of a run starting at disk offset lo inside segment.
void chain_name_host(const std::vector<Layer>& layers, const chain::Segment& segment, std::uint64_t lo,
                     ChainRun& run) {
  const Layer& layer = layers[segment.depth];
  const ExtentSlot& slot = layer.disk->extents()[segment.extent_index];
  run.file = slot.extent ? slot.extent->host_file() : slot.path.string();
  run.compressed = segment.compressed;
  if (segment.host_offset != kNoHostOffset) {
    run.host_offset = segment.compressed ? segment.host_offset : segment.host_offset + (lo - segment.offset);
  }
}

}  // namespace

std::vector<ChainRun> Chain::map(std::uint64_t offset, std::uint64_t length) const {
  check_range(*this, offset, length, "map");
  std::vector<ChainRun> runs;
  const std::uint64_t end = offset + length;
  std::uint64_t pos = offset;
  chain::ExpanseProbe expanses(impl_->layers);
  while (pos < end) {
    const std::uint64_t index = pos / chain::kWindowBytes;
    const std::uint64_t window_end = std::min(end, (index + 1) * chain::kWindowBytes);
    // One probe per window at most: an expanse where no layer has data is one range however many
    // windows it spans (it is taken when it reaches past this window; shorter ones the window has).
    if (pos == offset || pos % chain::kWindowBytes == 0) {
      const chain::Expanse expanse = expanses.at(pos, end);
      if (expanse.length != 0 && expanse.length >= window_end - pos) {
        append_expanse(runs, pos, expanse, impl_->layers.size());
        pos += expanse.length;
        continue;
      }
    }
    std::shared_ptr<const chain::Window> window = impl_->cache->get(index);
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
        case BlockState::data:
          run.present = true;
          run.data = true;
          chain_name_host(impl_->layers, segment, lo, run);
          break;
        case BlockState::zero:
          run.present = true;
          run.zero = true;
          // A hole of a flat extent's file: QEMU says data+zero with the file's offset.
          if (segment.host_offset != kNoHostOffset) {
            run.data = true;
            chain_name_host(impl_->layers, segment, lo, run);
          }
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
