// The merged chain map (DESIGN.md "Performance"): for one 32 MiB window, the topmost layer that
// answers for every byte, resolved once with one Disk::map per layer, kept in a bounded LRU cache.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include "vmdk/chain.hpp"

namespace vmdk::chain {

/// Windows are aligned to their size; 32 MiB is the span of one grain table with default grains.
inline constexpr std::uint64_t kWindowBytes = 32ull * 1024 * 1024;
/// Resolved windows kept (64 windows = 2 GiB of disk, a few KiB of memory each when fragmented).
inline constexpr std::size_t kCachedWindows = 64;

/// A range of the window and who answers for it. state unallocated means no layer holds it.
struct Segment {
  std::uint64_t offset = 0;  ///< disk offset
  std::uint64_t length = 0;
  BlockState state = BlockState::unallocated;
  bool compressed = false;
  std::uint32_t depth = 0;         ///< owning layer (layers.size()-1 for unallocated)
  std::uint32_t extent_index = 0;  ///< slot of the owning layer's disk
  std::uint64_t host_offset = kNoHostOffset;
};

/// Segments sorted by offset, covering the window without gaps.
using Window = std::vector<Segment>;

/// Counts Disk::map calls made to resolve windows (a test hook: reads of a resolved window make none).
std::uint64_t layer_map_calls();

class WindowCache {
 public:
  WindowCache(const std::vector<Layer>& layers, std::uint64_t capacity) : layers_(layers), capacity_(capacity) {}

  /// The resolved window with the given index (offset / kWindowBytes). Thread-safe.
  std::shared_ptr<const Window> get(std::uint64_t index) const;

 private:
  std::shared_ptr<const Window> resolve(std::uint64_t index) const;
  std::shared_ptr<const Window> merged_window(const Window& owned, std::uint64_t begin, std::uint64_t end) const;

  const std::vector<Layer>& layers_;
  std::uint64_t capacity_;
  mutable std::mutex mutex_;
  mutable std::list<std::uint64_t> recent_;  // most recent first
  struct Entry {
    std::shared_ptr<const Window> window;
    std::list<std::uint64_t>::iterator position;
  };
  mutable std::unordered_map<std::uint64_t, Entry> entries_;
  mutable std::set<std::uint64_t> resolving_;  // windows a thread is resolving now
  mutable std::condition_variable resolved_;    // signalled when one of them is done (or failed)
};

}  // namespace vmdk::chain
