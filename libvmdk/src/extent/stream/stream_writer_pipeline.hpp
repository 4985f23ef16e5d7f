// Parallel grain compression for the streamOptimized writer (vmdk-format.md 3.2, 3.3): batches of
// grains become ready-to-write grain records (marker, zlib data, zero padding) on worker threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace vmdk::format {
class FastDeflater;
}

namespace vmdk::stream {

/// One grain record inside a batch's output.
struct GrainRecord {
  std::uint64_t grain_index = 0;
  std::uint64_t sectors = 0;  ///< sectors the record occupies (marker + data + padding)
};

/// Consecutive grains of one grain table, compressed together to keep synchronisation rare.
struct GrainBatch {
  std::uint64_t first_grain = 0;
  std::size_t grain_count = 0;
  std::vector<std::uint8_t> input;   ///< grain_count full grains (zero padded)
  std::vector<std::uint8_t> output;  ///< records back to back; only output_bytes are valid
  std::size_t output_bytes = 0;
  std::vector<GrainRecord> records;  ///< non-zero grains in ascending order
  std::exception_ptr error;          ///< set by a worker that failed
  bool done = false;
};

/// Workers that compress batches in any order; the owner takes them back in submission order.
class CompressPipeline {
 public:
  /// threads >= 1 workers at deflate `level` for grains of grain_bytes; at most max_in_flight
  /// batches are submitted and not yet taken back. Throws UsageError for a bad level.
  CompressPipeline(unsigned threads, int level, std::size_t grain_bytes, std::size_t max_in_flight);
  /// Stops and joins the workers; batches still queued are dropped.
  ~CompressPipeline();
  CompressPipeline(const CompressPipeline&) = delete;
  CompressPipeline& operator=(const CompressPipeline&) = delete;

  /// A batch with buffers sized for grain_count grains (reused from earlier batches when possible).
  std::unique_ptr<GrainBatch> acquire();
  /// Queues a batch; the caller must first take back a batch when full() is true.
  void submit(std::unique_ptr<GrainBatch> batch);
  bool full() const { return in_order_.size() >= max_in_flight_; }
  bool empty() const { return in_order_.empty(); }
  /// True when the oldest submitted batch is compressed.
  bool oldest_ready();
  /// Waits for the oldest submitted batch and returns it; rethrows a worker's exception.
  std::unique_ptr<GrainBatch> take_oldest();
  /// Gives a written batch back for reuse.
  void release(std::unique_ptr<GrainBatch> batch);

  std::size_t grains_per_batch() const { return grains_per_batch_; }

 private:
  void work(int level);
  void compress_batch(GrainBatch& batch, format::FastDeflater& deflater) const;

  std::size_t grain_bytes_;
  std::size_t grains_per_batch_;
  std::size_t max_in_flight_;
  std::size_t record_bound_ = 0;  ///< worst-case bytes of one record

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable batch_done_;
  std::deque<GrainBatch*> queue_;                     ///< submitted, not yet picked by a worker
  std::deque<std::unique_ptr<GrainBatch>> in_order_;  ///< submitted, not yet taken back (owner)
  std::vector<std::unique_ptr<GrainBatch>> free_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

/// Batch size in grains: about 4 MiB of input, a power of two that divides a 512-entry table.
std::size_t grains_per_batch(std::size_t grain_bytes);

/// True when every byte is zero.
bool is_all_zero(std::span<const std::uint8_t> bytes);

}  // namespace vmdk::stream
