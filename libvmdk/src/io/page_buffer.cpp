// PageBuffer: anonymous mappings aligned for transparent huge pages.
#include "io/page_buffer.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

namespace vmdk::io {

namespace {
constexpr std::size_t kHugePage = 2u << 20;
constexpr std::size_t kSmallPage = 4096;
}  // namespace

PageBuffer::PageBuffer(std::size_t size, Touch touch) {
  if (size == 0) return;
  // Small buffers gain nothing from huge pages; larger ones are over-mapped by one huge page so
  // that the aligned part can start on a huge-page boundary.
  const bool huge = size >= kHugePage / 2;
  const std::size_t rounded = huge ? (size + kHugePage - 1) / kHugePage * kHugePage : size;
  const std::size_t length = huge ? rounded + kHugePage : rounded;
  void* mapping = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED) throw std::bad_alloc();
  mapping_ = mapping;
  mapped_ = length;
  auto base = reinterpret_cast<std::uintptr_t>(mapping);
  if (huge) {
    base = (base + kHugePage - 1) / kHugePage * kHugePage;
    // Advice only: a kernel without transparent huge pages refuses it and small pages serve.
    (void)::madvise(reinterpret_cast<void*>(base), rounded, MADV_HUGEPAGE);
  }
  data_ = reinterpret_cast<std::uint8_t*>(base);
  size_ = size;
  if (touch == Touch::now) {
    // One write per small page; with a huge page the first write faults in all 2 MiB of it.
    for (std::size_t at = 0; at < size; at += kSmallPage) data_[at] = 0;
  }
}

PageBuffer::~PageBuffer() { release(); }

PageBuffer::PageBuffer(PageBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)) {}

PageBuffer& PageBuffer::operator=(PageBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

void PageBuffer::release() noexcept {
  if (mapping_ != nullptr) ::munmap(mapping_, mapped_);
  mapping_ = nullptr;
  mapped_ = 0;
  data_ = nullptr;
  size_ = 0;
}

}  // namespace vmdk::io
