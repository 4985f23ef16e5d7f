// The last answer of ByteSource::next_data, reused for the offsets it covers: callers walk a file
// in windows or chunks (32 MiB chain windows, compare's chunks), and a terabyte hole must cost one
// lseek, not one per window. An answer holds as long as the caller's view of the file does (an
// open extent, one compare): nothing that writes the file asks through the same hint.
#pragma once

#include <cstdint>
#include <mutex>

#include "vmdk/io.hpp"

namespace vmdk::io {

class DataHint {
 public:
  /// source.next_data(offset), from the last answer when offset lies inside what it covered.
  /// Thread-safe.
  DataSpan next_data(const ByteSource& source, std::uint64_t offset) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (valid_ && offset >= asked_) {
        if (offset < last_.begin) return last_;
        if (offset < last_.end) return DataSpan{offset, last_.end};
      }
    }
    const DataSpan span = source.next_data(offset);
    std::lock_guard<std::mutex> lock(mutex_);
    asked_ = offset;
    last_ = span;
    valid_ = true;
    return span;
  }

 private:
  mutable std::mutex mutex_;
  mutable bool valid_ = false;
  mutable std::uint64_t asked_ = 0;
  mutable DataSpan last_;
};

}  // namespace vmdk::io
