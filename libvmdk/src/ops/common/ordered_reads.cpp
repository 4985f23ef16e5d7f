// read_in_order: a ring of buffers filled by reader threads and emptied in order by the caller.
#include "ops/common/ordered_reads.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "io/page_buffer.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace {

constexpr unsigned kMaxReaders = 4;
constexpr unsigned kSlotsPerReader = 2;

enum class SlotState { free, queued, reading, done };

struct Slot {
  io::PageBuffer buffer;
  RangeRead range;
  std::uint64_t sequence = 0;
  SlotState state = SlotState::free;
  std::exception_ptr error;
};

// The reader threads and their slots. The destructor stops the threads and waits for reads in
// progress, because those write into the slots' buffers.
class Readers {
 public:
  Readers(const ReadRange& read, std::size_t max_length, unsigned threads)
      : read_(read), slots_(static_cast<std::size_t>(threads) * kSlotsPerReader) {
    for (Slot& slot : slots_) slot.buffer = io::PageBuffer(max_length);
    try {
      for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    } catch (...) {
      stop();
      throw;
    }
  }
  ~Readers() { stop(); }
  Readers(const Readers&) = delete;
  Readers& operator=(const Readers&) = delete;

  std::size_t slots() const { return slots_.size(); }

  /// Queues range as number `sequence`; the caller keeps fewer than slots() ranges outstanding.
  void queue(const RangeRead& range, std::uint64_t sequence) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto free =
        std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.state == SlotState::free; });
    free->range = range;
    free->sequence = sequence;
    free->state = SlotState::queued;
    free->error = nullptr;
    work_ready_.notify_one();
  }

  /// Waits until range number `sequence` is read; the slot stays the caller's until release().
  Slot& wait(std::uint64_t sequence) {
    std::unique_lock<std::mutex> lock(mutex_);
    Slot* slot = &*std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) {
      return s.state != SlotState::free && s.sequence == sequence;
    });
    done_ready_.wait(lock, [&] { return slot->state == SlotState::done; });
    return *slot;
  }

  void release(Slot& slot) {
    std::lock_guard<std::mutex> lock(mutex_);
    slot.state = SlotState::free;
  }

 private:
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      Slot* next = nullptr;
      work_ready_.wait(lock, [&] {
        next = oldest_queued();
        return stopping_ || next != nullptr;
      });
      if (stopping_) return;
      next->state = SlotState::reading;
      lock.unlock();
      try {
        read_(next->range.offset, std::span<std::uint8_t>(next->buffer.data(), next->range.length));
      } catch (...) {
        next->error = std::current_exception();
      }
      lock.lock();
      next->state = SlotState::done;
      done_ready_.notify_all();
    }
  }

  // Oldest first, so the range the caller waits for is never behind ranges read ahead of it.
  Slot* oldest_queued() {
    Slot* oldest = nullptr;
    for (Slot& slot : slots_) {
      if (slot.state == SlotState::queued && (oldest == nullptr || slot.sequence < oldest->sequence))
        oldest = &slot;
    }
    return oldest;
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

  const ReadRange& read_;
  std::vector<Slot> slots_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable done_ready_;
  bool stopping_ = false;
};

// next() with room to look ahead: ranges asked for early come out first, and next() is not asked
// again once it has said there are no more.
class RangeQueue {
 public:
  explicit RangeQueue(const NextRange& next) : next_(next) {}

  /// True when at least n more ranges come (asking next() for them now if need be).
  bool has(std::size_t n) {
    while (ahead_.size() < n && !ended_) {
      if (std::optional<RangeRead> range = next_()) {
        ahead_.push_back(*range);
      } else {
        ended_ = true;
      }
    }
    return ahead_.size() >= n;
  }

  std::optional<RangeRead> pop() {
    if (!has(1)) return std::nullopt;
    const RangeRead range = ahead_.front();
    ahead_.pop_front();
    return range;
  }

 private:
  const NextRange& next_;
  std::deque<RangeRead> ahead_;
  bool ended_ = false;
};

void check_length(const RangeRead& range, std::size_t max_length) {
  if (range.length > max_length) {
    throw UsageError("", "a read of " + hex(range.length) + " bytes at " + hex(range.offset) +
                             " exceeds the reader buffers (" + hex(max_length) + " bytes)");
  }
}

}  // namespace

void read_in_order(const NextRange& next, const ReadRange& read, const ConsumeRange& consume,
                   const OrderedReadOptions& options) {
  const unsigned threads = options.threads != 0
                               ? std::min(options.threads, kMaxReaders)
                               : std::clamp(std::thread::hardware_concurrency(), 1u, kMaxReaders);
  RangeQueue ranges(next);
  // A scan of one range (a short cat, a disk that fits in one batch) is read in this thread:
  // starting readers would only cost time.
  if (threads <= 1 || !ranges.has(2)) {
    io::PageBuffer buffer(options.max_length);
    while (std::optional<RangeRead> range = ranges.pop()) {
      check_length(*range, options.max_length);
      std::span<std::uint8_t> bytes(buffer.data(), range->length);
      read(range->offset, bytes);
      consume(*range, bytes);
    }
    return;
  }
  Readers readers(read, options.max_length, threads);
  std::uint64_t queued = 0;
  std::uint64_t consumed = 0;
  while (true) {
    while (queued - consumed < readers.slots() && ranges.has(1)) {
      const RangeRead range = *ranges.pop();
      check_length(range, options.max_length);
      readers.queue(range, queued++);
    }
    if (consumed == queued) return;
    Slot& slot = readers.wait(consumed);
    if (slot.error) std::rethrow_exception(slot.error);
    consume(slot.range, std::span<const std::uint8_t>(slot.buffer.data(), slot.range.length));
    readers.release(slot);
    ++consumed;
  }
}

}  // namespace vmdk::ops
