// Resolving one window of the merged chain map: layer 0 answers first, only its unallocated holes
// go down to layer 1, and so on; what is left at the bottom is unallocated in every layer.
#include "chain/window_map.hpp"

#include <algorithm>

#include "vmdk/error.hpp"

namespace vmdk::chain {

namespace {

std::atomic<std::uint64_t> map_calls{0};

struct Hole {
  std::uint64_t begin;
  std::uint64_t end;
};

bool same_owner(const Segment& a, const Segment& b) {
  if (a.state != b.state || a.depth != b.depth || a.offset + a.length != b.offset) return false;
  // Zero runs that name no host bytes merge freely; a hole of a flat extent keeps its file and
  // host offset (map reports them), so it merges like data.
  if (a.state == BlockState::unallocated) return true;
  if (a.state == BlockState::zero && a.host_offset == kNoHostOffset && b.host_offset == kNoHostOffset) return true;
  if (a.compressed || b.compressed || a.extent_index != b.extent_index) return false;
  if (a.host_offset == kNoHostOffset || b.host_offset == kNoHostOffset) {
    return a.host_offset == b.host_offset;
  }
  return a.host_offset + a.length == b.host_offset;
}

}  // namespace

std::uint64_t layer_map_calls() { return map_calls.load(std::memory_order_relaxed); }

std::shared_ptr<const Window> WindowCache::get(std::uint64_t index) const {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    auto it = entries_.find(index);
    if (it != entries_.end()) {
      recent_.splice(recent_.begin(), recent_, it->second.position);
      return it->second.window;
    }
    // Reader threads of one scan reach a new window together: one resolves it, the others wait
    // for it instead of doing the same work (if it fails, each tries again and gets the error).
    if (resolving_.count(index) == 0) break;
    resolved_.wait(lock);
  }
  resolving_.insert(index);
  lock.unlock();
  // Resolve outside the lock so other threads keep reading cached windows.
  std::shared_ptr<const Window> window;
  try {
    window = resolve(index);
  } catch (...) {
    lock.lock();
    resolving_.erase(index);
    resolved_.notify_all();
    throw;
  }
  lock.lock();
  resolving_.erase(index);
  resolved_.notify_all();
  recent_.push_front(index);
  entries_.emplace(index, Entry{window, recent_.begin()});
  while (entries_.size() > kCachedWindows) {
    entries_.erase(recent_.back());
    recent_.pop_back();
  }
  return window;
}

namespace {

// Splits one layer's run over the holes it meets: unallocated parts stay holes for the layers
// below (next_holes), the rest becomes segments owned by this layer. h is the first hole that
// may meet the run; runs come in ascending order, so it only moves forward.
void overlay_run(const DiskRun& run, std::size_t depth, const std::vector<Hole>& holes, std::size_t& h,
                 std::vector<Hole>& next_holes, Window& owned) {
  const std::uint64_t run_end = run.offset + run.length;
  while (h < holes.size() && holes[h].end <= run.offset) ++h;
  for (std::size_t k = h; k < holes.size() && holes[k].begin < run_end; ++k) {
    const std::uint64_t lo = std::max(run.offset, holes[k].begin);
    const std::uint64_t hi = std::min(run_end, holes[k].end);
    if (lo >= hi) continue;
    if (run.state == BlockState::unallocated) {
      if (!next_holes.empty() && next_holes.back().end == lo) {
        next_holes.back().end = hi;
      } else {
        next_holes.push_back({lo, hi});
      }
      continue;
    }
    Segment segment;
    segment.offset = lo;
    segment.length = hi - lo;
    segment.state = run.state;
    segment.compressed = run.compressed;
    segment.depth = static_cast<std::uint32_t>(depth);
    segment.extent_index = static_cast<std::uint32_t>(run.extent_index);
    // A compressed grain's host offset is its marker: the same for every byte of the grain.
    if (run.host_offset != kNoHostOffset) {
      segment.host_offset = run.compressed ? run.host_offset : run.host_offset + (lo - run.offset);
    }
    owned.push_back(segment);
  }
}

}  // namespace

std::shared_ptr<const Window> WindowCache::resolve(std::uint64_t index) const {
  const std::uint64_t begin = index * kWindowBytes;
  if (begin >= capacity_) {
    throw UsageError("", "window " + hex(begin) + " lies past the end of the chain (" + hex(capacity_) + ")");
  }
  const std::uint64_t end = std::min(capacity_, begin + kWindowBytes);

  // Scratch reused from window to window (resolving is not re-entrant on one thread).
  thread_local Window owned;
  thread_local std::vector<Hole> holes;
  thread_local std::vector<Hole> next_holes;
  thread_local std::vector<DiskRun> runs;
  owned.clear();
  holes.assign(1, Hole{begin, end});
  for (std::size_t depth = 0; depth < layers_.size() && !holes.empty(); ++depth) {
    // One map call per layer over the span of the remaining holes: one grain-table walk per layer.
    runs.clear();
    map_calls.fetch_add(1, std::memory_order_relaxed);
    layers_[depth].disk->map(holes.front().begin, holes.back().end - holes.front().begin, runs);
    next_holes.clear();
    std::size_t h = 0;
    for (const DiskRun& run : runs) overlay_run(run, depth, holes, h, next_holes, owned);
    holes.swap(next_holes);
  }
  const auto bottom = static_cast<std::uint32_t>(layers_.empty() ? 0 : layers_.size() - 1);
  for (const Hole& hole : holes) {
    Segment segment;
    segment.offset = hole.begin;
    segment.length = hole.end - hole.begin;
    segment.depth = bottom;
    owned.push_back(segment);
  }
  std::sort(owned.begin(), owned.end(), [](const Segment& a, const Segment& b) { return a.offset < b.offset; });
  return merged_window(owned, begin, end);
}

// The window's segments, neighbours with the same owner merged; each byte of [begin, end) must be
// covered exactly once.
std::shared_ptr<const Window> WindowCache::merged_window(const Window& owned, std::uint64_t begin,
                                                         std::uint64_t end) const {
  auto window = std::make_shared<Window>();
  window->reserve(owned.size());
  std::uint64_t expect = begin;
  for (const Segment& segment : owned) {
    if (segment.offset != expect) {
      // A layer's map left a gap or overlapped: a bug in an extent kind, never silent zeros.
      throw FormatError(layers_[segment.depth].disk->path().string(),
                        "layer map does not cover the window at " + hex(expect) + " exactly");
    }
    expect = segment.offset + segment.length;
    if (!window->empty() && same_owner(window->back(), segment)) {
      window->back().length += segment.length;
    } else {
      window->push_back(segment);
    }
  }
  if (expect != end) {
    throw FormatError(layers_.front().disk->path().string(),
                      "layer maps do not cover the window up to " + hex(end) + " (stopped at " + hex(expect) + ")");
  }
  return window;
}

}  // namespace vmdk::chain
