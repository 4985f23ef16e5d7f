// streamOptimized writer, layout A (vmdk-format.md 3.4, 3.6): header (GD_AT_END), descriptor,
// per table the grain records in LBA order then GT marker + GT, GD marker + GD, footer marker +
// footer, EOS. Every byte is written once, in order, so the sink may be a pipe.
#include "extent/stream/stream_writer.hpp"

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "extent/stream/stream_writer_pipeline.hpp"
#include "io/checked_math.hpp"
#include "format/fast_deflate.hpp"
#include "format/grain_directory.hpp"
#include "format/marker.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::stream {

namespace {

using format::kSectorSize;

constexpr std::uint64_t kMinGrainBytes = 4096;
constexpr std::uint64_t kMaxGrainBytes = 1u << 20;
constexpr unsigned kMaxThreads = 256;
constexpr std::size_t kMaxBatchesInFlight = 32;
// The sink's write-out is started every this many bytes emitted: the device writes while the
// workers compress, instead of all at once in finish()'s flush.
constexpr std::uint64_t kWritebackBytes = 32ull << 20;
// GTEs and GD entries are 32-bit sector numbers: a stream file cannot pass 2^32 sectors (2 TiB).
constexpr std::uint64_t kMaxFileSectors = 1ull << 32;

class StreamWriter final : public ExtentWriter {
 public:
  StreamWriter(std::shared_ptr<ByteSink> sink, const StreamWriterParams& params) : sink_(std::move(sink)) {
    if (!sink_) throw UsageError("", "stream writer needs an output");
    const std::string& name = sink_->name();
    if (params.capacity_bytes == 0 || params.capacity_bytes % kSectorSize != 0) {
      throw UsageError(
          name, "stream capacity " + hex(params.capacity_bytes) + " bytes is not a positive multiple of 512");
    }
    if (!vmdk::is_power_of_two(params.grain_bytes) || params.grain_bytes < kMinGrainBytes ||
        params.grain_bytes > kMaxGrainBytes) {
      throw UsageError(name, "stream grain size " + hex(params.grain_bytes) +
                                 " bytes is not a power of two from 4 KiB to 1 MiB");
    }
    if (params.compress_level < format::kMinFastDeflateLevel ||
        params.compress_level > format::kMaxFastDeflateLevel) {
      throw UsageError(
          name, "compression level " + std::to_string(params.compress_level) + " is out of range (0 to 9)");
    }
    if (params.threads > kMaxThreads) {
      throw UsageError(name, std::to_string(params.threads) + " compression threads are too many (at most " +
                                 std::to_string(kMaxThreads) + ")");
    }
    if (params.descriptor.find('\0') != std::string::npos) {
      throw UsageError(name, "embedded descriptor text contains a NUL byte");
    }
    capacity_bytes_ = params.capacity_bytes;
    grain_bytes_ = params.grain_bytes;
    const std::uint64_t capacity_sectors = capacity_bytes_ / kSectorSize;
    const std::uint64_t grain_sectors = grain_bytes_ / kSectorSize;
    if (capacity_sectors > format::kMaxSparseCapacitySectors) {
      throw UsageError(name, "stream capacity " + hex(capacity_bytes_) + " bytes is too large");
    }
    geometry_ = format::grain_geometry(capacity_sectors, grain_sectors, format::kStandardGtesPerGt);
    if (geometry_.num_gd_entries > format::kMaxGdEntries) {
      throw UsageError(name, "stream capacity " + hex(capacity_bytes_) + " bytes needs " +
                                 hex(geometry_.num_gd_entries) + " grain tables (more than " +
                                 hex(format::kMaxGdEntries) + ")");
    }
    // Text plus one NUL: QEMU reads an embedded descriptor up to the first NUL, past the area's end.
    const std::uint64_t descriptor_sectors = vmdk::div_round_up(params.descriptor.size() + 1, kSectorSize);
    if (descriptor_sectors > format::kMaxDescriptorSectors) {
      throw UsageError(name, "embedded descriptor of " + hex(params.descriptor.size()) +
                                 " bytes needs more than " + hex(format::kMaxDescriptorSectors) + " sectors");
    }

    // VirtualBox's layout: the first grain starts on a grain boundary after the descriptor (128 for
    // 64 KiB grains and a descriptor below 127 sectors, like VMware's files).
    header_.version = 3;
    header_.flags = format::kFlagValidNewlineDetector | format::kFlagCompressed | format::kFlagEmbeddedLba;
    header_.capacity = capacity_sectors;
    header_.grain_size = grain_sectors;
    header_.descriptor_offset = 1;
    header_.descriptor_size = descriptor_sectors;
    header_.num_gtes_per_gt = format::kStandardGtesPerGt;
    header_.rgd_offset = 0;
    header_.gd_offset = format::kGdAtEnd;
    header_.overhead = *vmdk::round_up(1 + descriptor_sectors, grain_sectors);
    header_.compress_algorithm = format::kCompressDeflate;

    unsigned threads =
        params.threads != 0 ? params.threads : std::max(1u, std::thread::hardware_concurrency());
    // Two batches per thread in flight keep every worker busy while the owner writes and reads; the
    // cap keeps memory near 256 MiB (batches hold ~4 MiB in and out) however many threads are asked.
    const std::size_t in_flight = std::min<std::size_t>(2 * std::size_t{threads}, kMaxBatchesInFlight);
    pipeline_ = std::make_unique<CompressPipeline>(threads, params.compress_level,
                                                   static_cast<std::size_t>(grain_bytes_), in_flight);
    batch_grains_ = pipeline_->grains_per_batch();
    gd_.assign(static_cast<std::size_t>(geometry_.num_gd_entries), 0);
    gt_.assign(format::kStandardGtesPerGt, 0);

    // Header, descriptor and zero padding up to overHead, in one write.
    std::vector<std::uint8_t> front(static_cast<std::size_t>(header_.overhead * kSectorSize), 0);
    auto header_bytes = format::encode_sparse_header(header_);
    std::copy(header_bytes.begin(), header_bytes.end(), front.begin());
    std::memcpy(front.data() + kSectorSize, params.descriptor.data(), params.descriptor.size());
    emit(front);
  }

  ~StreamWriter() override = default;  // the pipeline joins its workers, even without finish()

  std::uint64_t size() const override { return capacity_bytes_; }
  std::uint64_t file_bytes() const override { return position_; }

  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    check_usable();
    if (offset < next_offset_) {
      throw UsageError(sink_->name(), "stream write at " + hex(offset) +
                                          " goes backwards (previous write ended at " + hex(next_offset_) +
                                          ")");
    }
    if (offset > capacity_bytes_ || data.size() > capacity_bytes_ - offset) {
      throw UsageError(sink_->name(), "stream write of " + hex(data.size()) + " bytes at " + hex(offset) +
                                          " ends past the capacity " + hex(capacity_bytes_));
    }
    failed_ = true;  // until this call completes: a half-done write leaves the writer unusable
    next_offset_ = offset + data.size();
    while (!data.empty()) {
      const std::uint64_t grain = offset / grain_bytes_;
      const std::uint64_t batch_first = grain / batch_grains_ * batch_grains_;
      if (batch_ && batch_->first_grain != batch_first) submit_batch();
      if (!batch_) start_batch(batch_first);
      const std::uint64_t batch_start = batch_first * grain_bytes_;
      const std::uint64_t batch_end = batch_start + batch_->grain_count * grain_bytes_;
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), batch_end - offset));
      auto in_batch = static_cast<std::size_t>(offset - batch_start);
      auto* base = batch_->input.data();
      if (in_batch > batch_fill_) std::memset(base + batch_fill_, 0, in_batch - batch_fill_);
      std::memcpy(base + in_batch, data.data(), n);
      batch_fill_ = in_batch + n;
      data = data.subspan(n);
      offset += n;
    }
    write_ready_batches();
    failed_ = false;
  }

  void finish() override {
    check_usable();
    failed_ = true;
    if (batch_) submit_batch();
    while (!pipeline_->empty()) write_batch(pipeline_->take_oldest());
    write_grain_table();
    // GD marker + GD, footer marker + footer (the header with the real GD sector), EOS (3.6 5-6).
    const std::uint64_t gd_sector = position_ / kSectorSize + 1;
    std::vector<std::uint8_t> tail(static_cast<std::size_t>((geometry_.gd_sectors + 4) * kSectorSize), 0);
    std::span<std::uint8_t> out(tail);
    auto gd_marker =
        format::encode_metadata_marker(geometry_.gd_sectors, format::MarkerType::grain_directory);
    std::copy(gd_marker.begin(), gd_marker.end(), out.begin());
    format::encode_u32_table(gd_, out.subspan(kSectorSize));
    auto footer_at = out.subspan(static_cast<std::size_t>((1 + geometry_.gd_sectors) * kSectorSize));
    auto footer_marker = format::encode_metadata_marker(1, format::MarkerType::footer);
    std::copy(footer_marker.begin(), footer_marker.end(), footer_at.begin());
    format::SparseHeader footer = header_;
    footer.gd_offset = gd_sector;
    auto footer_bytes = format::encode_sparse_header(footer);
    std::copy(footer_bytes.begin(), footer_bytes.end(), footer_at.begin() + kSectorSize);
    // The EOS marker is the last, all-zero sector of `tail`.
    check_sector_range(position_ / kSectorSize + geometry_.gd_sectors + 4);
    emit(tail);
    sink_->flush();
    pipeline_.reset();  // workers are no longer needed
    finished_ = true;
    failed_ = false;
  }

 private:
  void check_usable() const {
    if (finished_) throw UsageError(sink_->name(), "stream is already finished");
    if (failed_) throw UsageError(sink_->name(), "stream writer cannot continue after an earlier error");
  }

  void start_batch(std::uint64_t first_grain) {
    batch_ = pipeline_->acquire();
    batch_->first_grain = first_grain;
    batch_->grain_count =
        static_cast<std::size_t>(std::min<std::uint64_t>(batch_grains_, geometry_.num_grains - first_grain));
    batch_fill_ = 0;
  }

  void submit_batch() {
    // Unwritten tail (and the padding of a last partial grain) reads as zeros.
    const std::size_t used = batch_->grain_count * static_cast<std::size_t>(grain_bytes_);
    if (batch_fill_ < used) std::memset(batch_->input.data() + batch_fill_, 0, used - batch_fill_);
    while (pipeline_->full()) write_batch(pipeline_->take_oldest());
    pipeline_->submit(std::move(batch_));
  }

  void write_ready_batches() {
    while (pipeline_->oldest_ready()) write_batch(pipeline_->take_oldest());
  }

  // Writes a compressed batch (all of one grain table) and records its grains in the table.
  void write_batch(std::unique_ptr<GrainBatch> batch) {
    if (!batch->records.empty()) {
      const std::uint64_t table = batch->first_grain / format::kStandardGtesPerGt;
      if (table != table_) {
        write_grain_table();
        table_ = table;
      }
      std::uint64_t sector = position_ / kSectorSize;
      check_sector_range(sector + batch->output_bytes / kSectorSize);
      for (const GrainRecord& record : batch->records) {
        gt_[static_cast<std::size_t>(record.grain_index % format::kStandardGtesPerGt)] =
            static_cast<std::uint32_t>(sector);
        sector += record.sectors;
      }
      gt_used_ = true;
      emit(std::span<const std::uint8_t>(batch->output).subspan(0, batch->output_bytes));
    }
    pipeline_->release(std::move(batch));
  }

  // GT marker + GT of the current table when it holds grains (3.6 step 4); empty tables are omitted.
  void write_grain_table() {
    if (!gt_used_) return;
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>((1 + geometry_.gt_sectors) * kSectorSize), 0);
    auto marker = format::encode_metadata_marker(geometry_.gt_sectors, format::MarkerType::grain_table);
    std::copy(marker.begin(), marker.end(), bytes.begin());
    format::encode_u32_table(gt_, std::span<std::uint8_t>(bytes).subspan(kSectorSize));
    const std::uint64_t gt_sector = position_ / kSectorSize + 1;
    check_sector_range(gt_sector + geometry_.gt_sectors);
    gd_[static_cast<std::size_t>(table_)] = static_cast<std::uint32_t>(gt_sector);
    emit(bytes);
    std::fill(gt_.begin(), gt_.end(), 0u);
    gt_used_ = false;
  }

  void check_sector_range(std::uint64_t end_sector) const {
    if (end_sector > kMaxFileSectors) {
      throw UnsupportedError(sink_->name(), "stream file would grow past " +
                                                hex(kMaxFileSectors * kSectorSize) +
                                                " bytes, the limit of 32-bit grain table entries");
    }
  }

  void emit(std::span<const std::uint8_t> bytes) {
    sink_->write_at(position_, bytes);
    position_ += bytes.size();
    unsubmitted_bytes_ += bytes.size();
    if (unsubmitted_bytes_ >= kWritebackBytes) {
      sink_->start_writeback();
      unsubmitted_bytes_ = 0;
    }
  }

  std::shared_ptr<ByteSink> sink_;
  std::uint64_t capacity_bytes_ = 0;
  std::uint64_t grain_bytes_ = 0;
  format::GrainGeometry geometry_;
  format::SparseHeader header_;
  std::unique_ptr<CompressPipeline> pipeline_;
  std::uint64_t batch_grains_ = 0;
  std::unique_ptr<GrainBatch> batch_;  ///< the batch being filled by write()
  std::size_t batch_fill_ = 0;         ///< bytes of batch_->input already defined
  std::vector<std::uint32_t> gd_;
  std::vector<std::uint32_t> gt_;  ///< the table whose grains are being written
  std::uint64_t table_ = 0;
  bool gt_used_ = false;
  std::uint64_t position_ = 0;     ///< bytes written to the sink
  std::uint64_t unsubmitted_bytes_ = 0;  ///< emitted since write-out was last started
  std::uint64_t next_offset_ = 0;  ///< end of the previous write()
  bool finished_ = false;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<ExtentWriter> make_stream_writer(std::shared_ptr<ByteSink> sink,
                                                 const StreamWriterParams& params) {
  return std::make_unique<StreamWriter>(std::move(sink), params);
}

}  // namespace vmdk::stream
