// Many independent reads issued together: the data pieces of one chain read, spread over the files
// of every layer that holds a grain in the range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "vmdk/io.hpp"

namespace vmdk::io {

/// One read of a batch: the bytes of source from offset on fill parts one after another.
struct BatchRead {
  const ByteSource* source = nullptr;
  std::uint64_t offset = 0;
  std::span<const std::span<std::uint8_t>> parts;
  std::size_t bytes = 0;  ///< total size of parts
  std::size_t got = 0;    ///< set by read_batch: bytes read, fewer only at the end of the data
};

/// Performs every read of the batch and sets each one's got. Reads of host files go to the kernel
/// together through one io_uring submission when the kernel offers io_uring: on a deep chain a
/// 4 MiB read touches some twenty files, and one system call per piece costs more than copying
/// it. Any read the ring does not complete in full (an error, a short read, a ring that cannot be
/// set up) is done again with ByteSource::read_scatter_at, so results and errors (IoError naming
/// the file and offset) are the same as without the ring.
void read_batch(std::span<BatchRead> reads);

/// For tests and comparisons: false makes read_batch use read_scatter_at only (all threads).
void set_io_uring_enabled(bool enabled);
/// True when this thread's last batch of two or more file reads went through io_uring.
bool io_uring_used();

}  // namespace vmdk::io
