// The read loop of convert (see convert_pump.hpp): batches of data ranges, each batch one read,
// read ahead by reader threads and handed to the consumer in order.
#include "ops/convert/convert_pump.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <vector>

#include "ops/common/ordered_reads.hpp"

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
      : source_(source),
        progress_(progress),
        consume_(consume),
        limit_(std::max<std::uint64_t>(chunk_size, 4096)) {}

  void run(unsigned read_threads) {
    OrderedReadOptions reading;
    reading.max_length = static_cast<std::size_t>(limit_);
    reading.threads = read_threads;
    read_in_order(
        [this] { return next_batch(); },
        [this](std::uint64_t offset, std::span<std::uint8_t> into) { source_.read(offset, into); },
        [this](const RangeRead& range, std::span<const std::uint8_t> bytes) { deliver(range, bytes); },
        reading);
    progress(source_.capacity());
  }

 private:
  // The next batch: data ranges in map order read with one read of at most limit_ bytes starting
  // at the batch's first data byte (the holes between them are read too, and not passed on).
  std::optional<RangeRead> next_batch() {
    std::vector<Segment> batch;
    while (next_data()) {
      if (!batch.empty() && data_start_ >= batch.front().start + limit_) break;
      const std::uint64_t batch_start = batch.empty() ? data_start_ : batch.front().start;
      const std::uint64_t piece_end = std::min(data_end_, batch_start + limit_);
      batch.push_back({data_start_, piece_end});
      data_start_ = piece_end;
      if (data_start_ < data_end_) break;  // the batch is full; the rest of this range comes next
    }
    if (batch.empty()) return std::nullopt;
    RangeRead range{batch.front().start, static_cast<std::size_t>(batch.back().end - batch.front().start)};
    pending_.push_back(std::move(batch));
    return range;
  }

  // Leaves the next data range not yet batched in [data_start_, data_end_); false at the end.
  bool next_data() {
    while (data_start_ >= data_end_) {
      if (run_index_ < runs_.size()) {
        const ChainRun& run = runs_[run_index_++];
        if (run.holds_bytes()) {  // holes of flat files are zeros: nothing to read
          data_start_ = run.offset;
          data_end_ = run.offset + run.length;
        }
        continue;
      }
      if (map_pos_ >= source_.capacity()) return false;
      const std::uint64_t window = std::min(kMapWindow, source_.capacity() - map_pos_);
      runs_ = source_.map(map_pos_, window);
      run_index_ = 0;
      map_pos_ += window;
    }
    return true;
  }

  void deliver(const RangeRead& range, std::span<const std::uint8_t> bytes) {
    const std::vector<Segment> batch = std::move(pending_.front());
    pending_.pop_front();
    for (const Segment& seg : batch) {
      consume_(seg.start, bytes.subspan(static_cast<std::size_t>(seg.start - range.offset),
                                        static_cast<std::size_t>(seg.end - seg.start)));
    }
    progress(batch.back().end);
  }

  void progress(std::uint64_t done) {
    shown_ = std::max(shown_, done);
    if (progress_) progress_(shown_, source_.capacity());
  }

  const ConvertSource& source_;
  const ProgressCallback& progress_;
  const DataConsumer& consume_;
  std::uint64_t limit_;
  std::vector<ChainRun> runs_;  // the current map window
  std::size_t run_index_ = 0;
  std::uint64_t map_pos_ = 0;  // where the next map window starts
  std::uint64_t data_start_ = 0;
  std::uint64_t data_end_ = 0;
  std::deque<std::vector<Segment>> pending_;  // batches handed to the readers, oldest first
  std::uint64_t shown_ = 0;
};

}  // namespace

bool all_zero(const std::uint8_t* p, std::size_t n) {
  if (n == 0) return true;
  return p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0;
}

void pump_data(const ConvertSource& source, std::size_t chunk_size, unsigned read_threads,
               const ProgressCallback& progress, const DataConsumer& consume) {
  Pump(source, chunk_size, progress, consume).run(read_threads);
}

}  // namespace vmdk::ops
