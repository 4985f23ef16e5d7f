// The block pool: power-of-two size classes carved from huge-page chunks, free lists per class.
#include "io/block_pool.hpp"

#include <array>
#include <bit>
#include <cstdint>
#include <mutex>
#include <vector>

#include "io/page_buffer.hpp"

namespace vmdk::io {

namespace {

constexpr std::size_t kChunkBytes = 2u << 20;
constexpr std::size_t kMinClassBytes = 4096;
constexpr std::size_t kClasses = std::countr_zero(kChunkBytes / kMinClassBytes) + 1;  // 4 KiB .. 2 MiB

std::size_t class_of(std::size_t bytes) {
  const std::size_t rounded = std::bit_ceil(std::max(bytes, kMinClassBytes));
  return static_cast<std::size_t>(std::countr_zero(rounded / kMinClassBytes));
}

constexpr std::size_t class_bytes(std::size_t size_class) { return kMinClassBytes << size_class; }

class BlockPool {
 public:
  void* take(std::size_t size_class) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<void*>& list = free_[size_class];
    if (!list.empty()) {
      void* block = list.back();
      list.pop_back();
      return block;
    }
    const std::size_t bytes = class_bytes(size_class);
    if (left_ < bytes) {
      // The tail of the current chunk goes to the smaller classes instead of being lost.
      while (left_ >= kMinClassBytes) {
        const std::size_t piece = std::bit_floor(left_);
        free_[class_of(piece)].push_back(cursor_);
        cursor_ += piece;
        left_ -= piece;
      }
      chunks_.emplace_back(kChunkBytes, PageBuffer::Touch::now);
      cursor_ = chunks_.back().data();
      left_ = kChunkBytes;
    }
    void* block = cursor_;
    cursor_ += bytes;
    left_ -= bytes;
    return block;
  }

  void give(void* block, std::size_t size_class) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_[size_class].push_back(block);
  }

 private:
  std::mutex mutex_;
  std::array<std::vector<void*>, kClasses> free_;
  std::vector<PageBuffer> chunks_;
  std::uint8_t* cursor_ = nullptr;
  std::size_t left_ = 0;
};

// Never destroyed: blocks may be released by objects that outlive static destruction order.
BlockPool& pool() {
  static BlockPool* instance = new BlockPool();
  return *instance;
}

}  // namespace

std::shared_ptr<void> pooled_block(std::size_t bytes) {
  if (bytes > kChunkBytes) {
    // Rare (tables of unusual geometry): a mapping of its own, unmapped with the block.
    auto buffer = std::make_shared<PageBuffer>(bytes);
    void* data = buffer->data();
    return std::shared_ptr<void>(std::move(buffer), data);
  }
  const std::size_t size_class = class_of(bytes);
  void* block = pool().take(size_class);
  return std::shared_ptr<void>(block, [size_class](void* p) { pool().give(p, size_class); });
}

}  // namespace vmdk::io
