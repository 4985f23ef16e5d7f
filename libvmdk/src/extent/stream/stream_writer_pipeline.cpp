// Worker pool of the streamOptimized writer: compresses grain batches into grain records
// (vmdk-format.md 3.2 grain marker + 3.3 zlib data + zero padding) while the owner writes in order.
#include "extent/stream/stream_writer_pipeline.hpp"

#include <algorithm>
#include <cstring>
#include <system_error>

#include "io/checked_math.hpp"
#include "format/fast_deflate.hpp"
#include "format/marker.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::stream {

namespace {
constexpr std::size_t kTargetBatchBytes = 4u << 20;
}  // namespace

std::size_t grains_per_batch(std::size_t grain_bytes) {
  std::size_t grains = 1;
  while (grains < std::uint64_t{format::kStandardGtesPerGt} && grains * grain_bytes * 2 <= kTargetBatchBytes)
    grains *= 2;
  return grains;
}

bool is_all_zero(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return true;
  // The first byte is zero and every byte equals its successor: memcmp is vectorised in libc.
  return bytes[0] == 0 && std::memcmp(bytes.data(), bytes.data() + 1, bytes.size() - 1) == 0;
}

CompressPipeline::CompressPipeline(unsigned threads, int level, std::size_t grain_bytes,
                                   std::size_t max_in_flight)
    : grain_bytes_(grain_bytes),
      grains_per_batch_(stream::grains_per_batch(grain_bytes)),
      max_in_flight_(std::max<std::size_t>(1, max_in_flight)) {
  {
    format::FastDeflater probe(level);  // validates the level here rather than in every worker
    record_bound_ = static_cast<std::size_t>(
        *vmdk::round_up(format::kGrainMarkerHeaderSize + probe.bound(grain_bytes), format::kSectorSize));
  }
  try {
    for (unsigned i = 0; i < std::max(1u, threads); ++i)
      workers_.emplace_back([this, level] { work(level); });
  } catch (const std::system_error& error) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
    throw Error("", std::string("cannot start compression threads: ") + error.what());
  }
}

CompressPipeline::~CompressPipeline() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

std::unique_ptr<GrainBatch> CompressPipeline::acquire() {
  std::unique_ptr<GrainBatch> batch;
  if (!free_.empty()) {
    batch = std::move(free_.back());
    free_.pop_back();
  } else {
    batch = std::make_unique<GrainBatch>();
    batch->input.resize(grains_per_batch_ * grain_bytes_);
    batch->output.resize(grains_per_batch_ * record_bound_);
    batch->records.reserve(grains_per_batch_);
  }
  batch->first_grain = 0;
  batch->grain_count = 0;
  batch->output_bytes = 0;
  batch->records.clear();
  batch->error = nullptr;
  batch->done = false;
  return batch;
}

void CompressPipeline::submit(std::unique_ptr<GrainBatch> batch) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(batch.get());
    in_order_.push_back(std::move(batch));
  }
  work_ready_.notify_one();
}

bool CompressPipeline::oldest_ready() {
  std::lock_guard lock(mutex_);
  return !in_order_.empty() && in_order_.front()->done;
}

std::unique_ptr<GrainBatch> CompressPipeline::take_oldest() {
  std::unique_lock lock(mutex_);
  if (in_order_.empty()) throw UsageError("", "no compressed batch is pending");
  batch_done_.wait(lock, [this] { return in_order_.front()->done; });
  std::unique_ptr<GrainBatch> batch = std::move(in_order_.front());
  in_order_.pop_front();
  lock.unlock();
  if (batch->error) std::rethrow_exception(batch->error);
  return batch;
}

void CompressPipeline::release(std::unique_ptr<GrainBatch> batch) {
  if (batch) free_.push_back(std::move(batch));
}

void CompressPipeline::work(int level) {
  std::unique_ptr<format::FastDeflater> deflater;
  std::exception_ptr setup_error;
  try {
    deflater = std::make_unique<format::FastDeflater>(level);
  } catch (...) {
    setup_error = std::current_exception();  // reported through every batch this worker takes
  }
  for (;;) {
    GrainBatch* batch = nullptr;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch = queue_.front();
      queue_.pop_front();
    }
    try {
      if (setup_error) std::rethrow_exception(setup_error);
      compress_batch(*batch, *deflater);
    } catch (...) {
      batch->error = std::current_exception();
    }
    {
      std::lock_guard lock(mutex_);
      batch->done = true;
    }
    batch_done_.notify_all();
  }
}

void CompressPipeline::compress_batch(GrainBatch& batch, format::FastDeflater& deflater) const {
  const std::uint64_t grain_sectors = grain_bytes_ / format::kSectorSize;
  std::span<const std::uint8_t> input(batch.input);
  std::span<std::uint8_t> output(batch.output);
  std::size_t at = 0;
  batch.records.clear();
  if (batch.grain_count > grains_per_batch_ || batch.input.size() < batch.grain_count * grain_bytes_ ||
      batch.output.size() < batch.grain_count * record_bound_) {
    throw UsageError(
        "", "grain batch of " + std::to_string(batch.grain_count) + " grains does not fit its buffers");
  }
  for (std::size_t i = 0; i < batch.grain_count; ++i) {
    auto grain = input.subspan(i * grain_bytes_, grain_bytes_);
    if (is_all_zero(grain)) continue;  // zero grains are never stored (3.3)
    auto record = output.subspan(at, record_bound_);
    std::size_t size = deflater.compress(grain, record.subspan(format::kGrainMarkerHeaderSize));
    const std::uint64_t grain_index = batch.first_grain + i;
    auto marker = format::encode_grain_marker(grain_index * grain_sectors, static_cast<std::uint32_t>(size));
    std::copy(marker.begin(), marker.end(), record.begin());
    std::size_t used = format::kGrainMarkerHeaderSize + size;
    std::size_t padded =
        static_cast<std::size_t>(vmdk::div_round_up(used, format::kSectorSize)) * format::kSectorSize;
    std::fill(record.begin() + static_cast<std::ptrdiff_t>(used),
              record.begin() + static_cast<std::ptrdiff_t>(padded), std::uint8_t{0});
    batch.records.push_back({grain_index, padded / format::kSectorSize});
    at += padded;
  }
  batch.output_bytes = at;
}

}  // namespace vmdk::stream
