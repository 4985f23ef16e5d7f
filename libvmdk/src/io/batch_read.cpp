// read_batch: io_uring READ/READV submissions with a per-thread ring, read_scatter_at for the rest.
#include "io/batch_read.hpp"

#include <liburing.h>
#include <limits.h>
#include <sys/uio.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "vmdk/error.hpp"

namespace vmdk::io {

namespace {

std::atomic<bool> ring_enabled{true};
constexpr unsigned kRingEntries = 64;

// One ring per thread, set up on its first batch. A kernel without io_uring, or a sandbox that
// forbids it (seccomp), fails the set-up once and the thread reads with preadv from then on.
class ThreadRing {
 public:
  ~ThreadRing() {
    if (ready_) io_uring_queue_exit(&ring_);
  }
  io_uring* get() {
    if (!tried_) {
      tried_ = true;
      ready_ = io_uring_queue_init(kRingEntries, &ring_, 0) == 0;
    }
    return ready_ ? &ring_ : nullptr;
  }
  bool used = false;

 private:
  io_uring ring_{};
  bool tried_ = false;
  bool ready_ = false;
};

thread_local ThreadRing thread_ring;

void read_one(BatchRead& read) {
  read.got = read.parts.size() == 1 ? read.source->read_at(read.offset, read.parts[0])
                                    : read.source->read_scatter_at(read.offset, read.parts);
}

// Submits what is queued and takes every completion; a read the ring did not fill completely keeps
// got = 0 for the caller's synchronous retry. Returns only when nothing is in flight, because the
// kernel writes into the caller's buffers until a read completes.
void drain(io_uring* ring, unsigned pending, std::span<BatchRead> reads) {
  while (pending > 0) {
    const int rc = io_uring_submit_and_wait(ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      // Not seen with a ring that was set up; reads may still be in flight, so nothing can go on.
      throw IoError("io_uring", std::string("waiting for batched reads failed: ") + std::strerror(-rc));
    }
    io_uring_cqe* cqe = nullptr;
    while (pending > 0 && io_uring_peek_cqe(ring, &cqe) == 0) {
      BatchRead& read = reads[static_cast<std::size_t>(io_uring_cqe_get_data64(cqe))];
      if (cqe->res >= 0 && static_cast<std::size_t>(cqe->res) == read.bytes) read.got = read.bytes;
      io_uring_cqe_seen(ring, cqe);
      --pending;
    }
  }
}

}  // namespace

void set_io_uring_enabled(bool enabled) { ring_enabled.store(enabled, std::memory_order_relaxed); }

bool io_uring_used() { return thread_ring.used; }

void read_batch(std::span<BatchRead> reads) {
  for (BatchRead& read : reads) read.got = 0;
  std::vector<std::size_t> ring_reads;
  for (std::size_t i = 0; i < reads.size(); ++i) {
    const BatchRead& read = reads[i];
    if (read.bytes > 0 && read.parts.size() <= IOV_MAX && dynamic_cast<const File*>(read.source) != nullptr) {
      ring_reads.push_back(i);
    }
  }
  io_uring* ring = nullptr;
  if (ring_reads.size() >= 2 && ring_enabled.load(std::memory_order_relaxed)) ring = thread_ring.get();
  thread_ring.used = ring != nullptr;
  if (ring != nullptr) {
    // iovec and std::span differ in layout: scattered reads get copies, kept until completion.
    // Single-part reads (most pieces of a deep chain) need none.
    std::vector<iovec> vectors;
    std::vector<std::size_t> first_vector(ring_reads.size());
    for (std::size_t k = 0; k < ring_reads.size(); ++k) {
      first_vector[k] = vectors.size();
      const BatchRead& read = reads[ring_reads[k]];
      if (read.parts.size() == 1) continue;
      for (std::span<std::uint8_t> part : read.parts) vectors.push_back({part.data(), part.size()});
    }
    unsigned pending = 0;
    for (std::size_t k = 0; k < ring_reads.size(); ++k) {
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      if (sqe == nullptr) {
        drain(ring, pending, reads);
        pending = 0;
        sqe = io_uring_get_sqe(ring);
      }
      BatchRead& read = reads[ring_reads[k]];
      const int fd = static_cast<const File*>(read.source)->descriptor();
      if (read.parts.size() == 1) {
        // A plain read spares the kernel importing a vector (most pieces of a deep chain are single).
        io_uring_prep_read(sqe, fd, read.parts[0].data(), static_cast<unsigned>(read.bytes), read.offset);
      } else {
        io_uring_prep_readv(sqe, fd, &vectors[first_vector[k]], static_cast<unsigned>(read.parts.size()), read.offset);
      }
      // Only what the page cache holds completes in the ring; a read that would wait for the disk
      // fails at once and is done below with preadv in this thread. Without the flag the kernel
      // hands such reads to io_uring worker threads, which cost more than they save here.
      sqe->rw_flags = RWF_NOWAIT;
      io_uring_sqe_set_data64(sqe, ring_reads[k]);
      ++pending;
    }
    drain(ring, pending, reads);
  }
  for (BatchRead& read : reads) {
    if (read.got != read.bytes) read_one(read);
  }
}

}  // namespace vmdk::io
