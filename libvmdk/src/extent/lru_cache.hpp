// A bounded, thread-safe cache of decoded tables keyed by their directory index, evicting the least
// recently used: what the COWD and SESparse readers keep of their grain tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace vmdk::extent {

template <typename Value>
class LruCache {
 public:
  explicit LruCache(std::size_t capacity) : capacity_(capacity) {}

  /// The value of key, from the cache or from load() (called under the cache's lock, so one
  /// table is never loaded twice at once); the value becomes the most recently used.
  template <typename Load>
  Value get(std::uint64_t key, Load&& load) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
    Value loaded = load();
    lru_.emplace_front(key, loaded);
    index_[key] = lru_.begin();
    while (lru_.size() > capacity_) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return loaded;
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::list<std::pair<std::uint64_t, Value>> lru_;  // most recent first
  std::unordered_map<std::uint64_t, typename std::list<std::pair<std::uint64_t, Value>>::iterator> index_;
};

}  // namespace vmdk::extent
