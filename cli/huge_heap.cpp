// See huge_heap.hpp. glibc takes memory below its mmap threshold from the main heap, which grows
// by moving the program break; the growth that follows a larger M_TOP_PAD is one region whose
// aligned 2 MiB blocks can be marked MADV_HUGEPAGE (the kernel's "madvise" THP mode, Debian's
// default). Pages are still only taken when touched, so an unused reserve costs address space.
#include "huge_heap.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#if defined(__GLIBC__) && defined(__linux__)
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace vmdkit_cli {

#if defined(__GLIBC__) && defined(__linux__) && defined(MADV_HUGEPAGE)

namespace {
constexpr std::size_t kHugePage = 2u << 20;
// Address space reserved at start: more than a command's small allocations use, so they all land
// in huge pages; what is never touched is never backed.
constexpr std::size_t kReserve = 64u << 20;
constexpr std::size_t kMmapThreshold = 4u << 20;
// The first block, which moves the break: larger than the heap's top can be before (glibc's
// default pad is 128 KiB), smaller than the mmap threshold above so that it comes from the heap.
constexpr std::size_t kProbeBytes = 1u << 20;
}  // namespace

void use_huge_pages_for_the_heap() {
  if (mallopt(M_TOP_PAD, static_cast<int>(kReserve)) == 0) return;
  // free() must not hand the reserve back (a break that shrinks and grows again loses the mark).
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * kReserve));
  // Setting the trim threshold fixes glibc's mmap threshold at 128 KiB, which would give every
  // larger block fresh pages of its own: blocks up to this size come from the heap instead.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThreshold));
  // Reader threads allocate from the main heap too instead of from arenas of their own.
  mallopt(M_ARENA_MAX, 1);
  // A block from the heap's top moves the break by the reserve; grown in place, it then ends on
  // a 2 MiB boundary, so that every later allocation from the top lies in huge pages. It is
  // kept: only its first page is ever touched.
  auto* before = static_cast<char*>(sbrk(0));
  void* pad = std::malloc(kProbeBytes);
  auto* after = static_cast<char*>(sbrk(0));
  const auto chunk = reinterpret_cast<std::uintptr_t>(pad) - 2 * sizeof(std::size_t);
  const auto boundary = (chunk + kProbeBytes + 64 + kHugePage - 1) & ~(kHugePage - 1);
  const auto last = reinterpret_cast<std::uintptr_t>(after) & ~(kHugePage - 1);
  // Another allocator (a sanitizer's) or a break that did not move: nothing to mark.
  if (pad == nullptr || before == reinterpret_cast<char*>(-1) || after <= before || last <= boundary) {
    std::free(pad);
    return;
  }
  // Advice only: a kernel without THP refuses it and the heap keeps 4 KiB pages. It comes before
  // the block grows, whose end writes a header at the boundary: a 2 MiB range whose first touch
  // was a 4 KiB fault stays in 4 KiB pages.
  madvise(reinterpret_cast<void*>(boundary), last - boundary, MADV_HUGEPAGE);
  // Kept for the life of the process (reachable, so leak checkers do not report it).
  static void* const kept = std::realloc(pad, boundary - chunk - sizeof(std::size_t));
  (void)kept;
}

#else

void use_huge_pages_for_the_heap() {}

#endif

}  // namespace vmdkit_cli
