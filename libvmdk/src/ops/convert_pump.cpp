// The read loop of convert (see convert_pump.hpp): batches of data ranges, each batch one read.
#include "ops/convert_pump.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace vmdk::ops {

namespace {

// The map is asked for at most this much at a time, so its answer stays small for huge disks.
constexpr std::uint64_t kMapWindow = 1ull << 30;

struct Segment {
  std::uint64_t start;
  std::uint64_t end;
};

class Pump {
 public:
  Pump(const ConvertSource& source, std::size_t chunk_size, const ProgressCallback& progress,
       const DataConsumer& consume)
      : source_(source), progress_(progress), consume_(consume),
        limit_(std::max<std::uint64_t>(chunk_size, 4096)) {}

  void run() {
    const std::uint64_t capacity = source_.capacity();
    for (std::uint64_t pos = 0; pos < capacity;) {
      std::uint64_t window = std::min(kMapWindow, capacity - pos);
      for (const auto& run : source_.map(pos, window)) {
        if (run.data) add_data(run.offset, run.offset + run.length);
        else progress(run.offset + run.length);
      }
      pos += window;
    }
    flush_batch();
    progress(capacity);
  }

 private:
  void add_data(std::uint64_t start, std::uint64_t end) {
    while (start < end) {
      // A batch is one read of at most limit_ bytes starting at its first data byte.
      if (!batch_.empty() && start >= batch_.front().start + limit_) flush_batch();
      std::uint64_t batch_start = batch_.empty() ? start : batch_.front().start;
      std::uint64_t piece_end = std::min(end, batch_start + limit_);
      batch_.push_back({start, piece_end});
      start = piece_end;
      if (start < end) flush_batch();
    }
  }

  void flush_batch() {
    if (batch_.empty()) return;
    const std::uint64_t base = batch_.front().start;
    buffer_.resize(static_cast<std::size_t>(batch_.back().end - base));
    source_.read(base, std::span<std::uint8_t>(buffer_.data(), buffer_.size()));
    for (const auto& seg : batch_) {
      consume_(seg.start, std::span<const std::uint8_t>(buffer_.data() + (seg.start - base),
                                                       static_cast<std::size_t>(seg.end - seg.start)));
    }
    std::uint64_t end = batch_.back().end;
    batch_.clear();
    progress(end);
  }

  void progress(std::uint64_t done) {
    // Non-data runs are passed while a batch before them is still pending: never go backwards.
    shown_ = std::max(shown_, done);
    if (progress_) progress_(shown_, source_.capacity());
  }

  const ConvertSource& source_;
  const ProgressCallback& progress_;
  const DataConsumer& consume_;
  std::uint64_t limit_;
  std::vector<Segment> batch_;
  std::vector<std::uint8_t> buffer_;
  std::uint64_t shown_ = 0;
};

}  // namespace

bool all_zero(const std::uint8_t* p, std::size_t n) {
  if (n == 0) return true;
  return p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0;
}

void pump_data(const ConvertSource& source, std::size_t chunk_size, const ProgressCallback& progress,
               const DataConsumer& consume) {
  Pump(source, chunk_size, progress, consume).run();
}

}  // namespace vmdk::ops
