// Large scratch buffers that are cheap to touch for the first time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vmdk::io {

/// An uninitialised buffer of at least `size` bytes mapped straight from the kernel, aligned to
/// 2 MiB and marked for transparent huge pages where the kernel offers them. Why: every fresh
/// 4 KiB page costs a fault when first touched, and in a virtual machine that fault costs far
/// more than the copy into it (8 ms for 2 MiB on the bench machine against 0.15 ms with huge
/// pages). Without huge pages it behaves like any other allocation.
class PageBuffer {
 public:
  /// now: fault every page in from user space at once. Why: on the bench machine (a virtual
  /// machine) the kernel's own first write to a fresh page, from inside a read(), costs several
  /// times a first touch from user space (1 ms against 0.13 ms for a 2 MiB huge page); elsewhere
  /// the fault merely happens earlier. later: pages fault in when first used.
  enum class Touch { later, now };

  PageBuffer() = default;
  explicit PageBuffer(std::size_t size, Touch touch = Touch::now);
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::span<std::uint8_t> span() const { return {data_, size_}; }

 private:
  void release() noexcept;

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  void* mapping_ = nullptr;
  std::size_t mapped_ = 0;
};

}  // namespace vmdk::io
