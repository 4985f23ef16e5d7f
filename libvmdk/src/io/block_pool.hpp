// Recycled memory for metadata that a deep chain loads in bulk (grain tables).
#pragma once

#include <cstddef>
#include <memory>

namespace vmdk::io {

/// An uninitialised block of at least `bytes` bytes, aligned to 64, from a process-wide pool of
/// 2 MiB huge-page chunks (io::PageBuffer). Freed blocks return to the pool and serve the next
/// request of their size class, so the pool never holds more than the peak of live blocks.
/// Why not the heap: opening a depth-33 chain loads 2 MiB of grain tables, and on a virtual
/// machine the first touch of each fresh 4 KiB heap page costs more than reading the table.
std::shared_ptr<void> pooled_block(std::size_t bytes);

/// pooled_block typed as an array of n trivially constructible T (left uninitialised).
template <typename T>
std::shared_ptr<T[]> pooled_array(std::size_t n) {
  std::shared_ptr<void> block = pooled_block(n * sizeof(T));
  T* first = static_cast<T*>(block.get());
  return std::shared_ptr<T[]>(std::move(block), first);
}

}  // namespace vmdk::io
