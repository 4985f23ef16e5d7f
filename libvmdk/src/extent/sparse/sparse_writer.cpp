// Writer of new hosted sparse (KDMV) extents (vmdk-format.md 2.1, 2.4, 2.7): the QEMU/VMware
// layout with every grain table pre-allocated, grains appended in ascending order, header last.
#include "extent/sparse/sparse_writer.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "io/checked_math.hpp"
#include "format/grain_directory.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

namespace {

using format::kSectorSize;

constexpr std::uint64_t kMinGrainBytes = 4096;
constexpr std::uint64_t kMaxGrainBytes = 1u << 20;

bool all_zero(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return true;
  // bytes[0] == 0 and every byte equals its successor: memcmp runs at memory speed.
  return bytes[0] == 0 && std::memcmp(bytes.data(), bytes.data() + 1, bytes.size() - 1) == 0;
}

class SparseWriter final : public ExtentWriter {
 public:
  SparseWriter(std::shared_ptr<ByteSink> file, const SparseWriterParams& params) : file_(std::move(file)) {
    validate(params);
    descriptor_ = params.descriptor;
    grain_bytes_ = params.grain_bytes;
    size_ = params.capacity_bytes;
    const std::uint64_t grain_sectors = grain_bytes_ / kSectorSize;
    geometry_ = format::grain_geometry(size_ / kSectorSize, grain_sectors, params.gtes_per_gt);

    header_.version = params.zeroed_grains ? 2 : 1;
    header_.flags = format::kFlagValidNewlineDetector | format::kFlagRedundantGd |
                    (params.zeroed_grains ? format::kFlagZeroedGrainGte : 0u);
    header_.capacity = size_ / kSectorSize;
    header_.grain_size = grain_sectors;
    header_.descriptor_offset = params.descriptor_sectors != 0 ? 1 : 0;
    header_.descriptor_size = params.descriptor_sectors;
    header_.num_gtes_per_gt = params.gtes_per_gt;
    // QEMU's formulas (2.7): RGD, its tables, GD, its tables, padding to a grain.
    const std::uint64_t tables = geometry_.num_gd_entries * geometry_.gt_sectors;
    header_.rgd_offset = 1 + params.descriptor_sectors;
    header_.gd_offset = header_.rgd_offset + geometry_.gd_sectors + tables;
    std::uint64_t metadata_end = header_.gd_offset + geometry_.gd_sectors + tables;
    header_.overhead = vmdk::div_round_up(metadata_end, grain_sectors) * grain_sectors;
    if (header_.overhead >= format::kSectorLimit32) {
      throw UsageError(file_->name(), "sparse extent metadata of " + hex(header_.overhead) +
                                          " sectors does not fit below 2^32 sectors");
    }
    next_sector_ = header_.overhead;
    grain_.assign(static_cast<std::size_t>(grain_bytes_), 0);
  }

  std::uint64_t size() const override { return size_; }

  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (finished_) throw UsageError(file_->name(), "sparse writer: write after finish");
    if (offset < end_) {
      throw UsageError(file_->name(), "sparse writer: write at " + hex(offset) +
                                          " goes backwards (previous end " + hex(end_) + ")");
    }
    if (offset > size_ || data.size() > size_ - offset) {
      throw UsageError(file_->name(), "sparse writer: write of " + hex(data.size()) + " bytes at " +
                                          hex(offset) + " passes the extent size " + hex(size_));
    }
    if (data.empty()) return;
    end_ = offset + data.size();
    while (!data.empty()) {
      const std::uint64_t index = offset / grain_bytes_;
      const std::uint64_t in_grain = offset % grain_bytes_;
      if (!current_ || *current_ != index) {
        store_current();
        // Whole grains arriving in one call skip the buffer; runs of them go out in one write.
        if (in_grain == 0 && data.size() >= grain_bytes_) {
          std::size_t used = store_whole_grains(index, data);
          offset += used;
          data = data.subspan(used);
          continue;
        }
        current_ = index;
      }
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(grain_bytes_ - in_grain, data.size()));
      std::memcpy(grain_.data() + in_grain, data.data(), n);
      offset += n;
      data = data.subspan(n);
    }
  }

  void finish() override {
    if (finished_) return;
    store_current();
    store_table();
    // Directories: every table is pre-allocated at a fixed place.
    std::vector<std::uint32_t> rgd(static_cast<std::size_t>(geometry_.num_gd_entries));
    std::vector<std::uint32_t> gd(rgd.size());
    for (std::uint64_t t = 0; t < geometry_.num_gd_entries; ++t) {
      rgd[t] = static_cast<std::uint32_t>(rgt_sector(t));
      gd[t] = static_cast<std::uint32_t>(gt_sector(t));
    }
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(geometry_.gd_sectors * kSectorSize), 0);
    format::encode_u32_table(rgd, bytes);
    put(header_.rgd_offset * kSectorSize, bytes);
    format::encode_u32_table(gd, bytes);
    put(header_.gd_offset * kSectorSize, bytes);
    if (header_.descriptor_size != 0) {
      std::vector<std::uint8_t> area(static_cast<std::size_t>(header_.descriptor_size * kSectorSize), 0);
      std::copy(descriptor_.begin(), descriptor_.end(), area.begin());
      put(header_.descriptor_offset * kSectorSize, area);
    }
    // Tables never written and the padding up to overHead stay holes of the (empty) file.
    const std::uint64_t final_size = next_sector_ * kSectorSize;
    if (written_end_ < final_size) file_->resize(final_size);
    // Everything else durable before the header makes the file valid.
    file_->flush();
    auto header = format::encode_sparse_header(header_);
    file_->write_at(0, header);
    file_->flush();
    finished_ = true;
  }

  std::uint64_t file_bytes() const override { return next_sector_ * kSectorSize; }

 private:
  void validate(const SparseWriterParams& p) const {
    const std::string& name = file_->name();
    if (!file_->random_access()) throw UsageError(name, "a sparse extent needs a random-access file");
    if (p.capacity_bytes == 0 || p.capacity_bytes % kSectorSize != 0) {
      throw UsageError(name, "sparse extent capacity " + hex(p.capacity_bytes) +
                                 " is not a positive multiple of 512 bytes");
    }
    if (p.capacity_bytes / kSectorSize > format::kMaxSparseCapacitySectors) {
      throw UsageError(name, "sparse extent capacity " + hex(p.capacity_bytes) + " is too large");
    }
    if (!vmdk::is_power_of_two(p.grain_bytes) || p.grain_bytes < kMinGrainBytes ||
        p.grain_bytes > kMaxGrainBytes) {
      throw UsageError(name, "grain size " + hex(p.grain_bytes) + " is not a power of two between " +
                                 hex(kMinGrainBytes) + " and " + hex(kMaxGrainBytes) + " bytes");
    }
    if (!vmdk::is_power_of_two(p.gtes_per_gt) || p.gtes_per_gt < format::kMinGtesPerGt ||
        p.gtes_per_gt > format::kMaxGtesPerGt) {
      throw UsageError(name, "grain table size " + std::to_string(p.gtes_per_gt) +
                                 " is not a power of two between 128 and 512");
    }
    if (p.descriptor_sectors > format::kMaxDescriptorSectors) {
      throw UsageError(name, "descriptor area of " + hex(p.descriptor_sectors) + " sectors exceeds " +
                                 hex(format::kMaxDescriptorSectors));
    }
    if (p.descriptor.size() > p.descriptor_sectors * kSectorSize) {
      throw UsageError(name, "embedded descriptor of " + hex(p.descriptor.size()) +
                                 " bytes does not fit in " + std::to_string(p.descriptor_sectors) +
                                 " sectors");
    }
    std::uint64_t tables =
        vmdk::div_round_up(p.capacity_bytes / kSectorSize, p.gtes_per_gt * (p.grain_bytes / kSectorSize));
    if (tables > format::kMaxGdEntries) {
      throw UsageError(name,
                       "sparse extent capacity " + hex(p.capacity_bytes) + " needs too many grain tables");
    }
  }

  std::uint64_t rgt_sector(std::uint64_t t) const {
    return header_.rgd_offset + geometry_.gd_sectors + t * geometry_.gt_sectors;
  }
  std::uint64_t gt_sector(std::uint64_t t) const {
    return header_.gd_offset + geometry_.gd_sectors + t * geometry_.gt_sectors;
  }

  void put(std::uint64_t at, std::span<const std::uint8_t> bytes) {
    file_->write_at(at, bytes);
    written_end_ = std::max(written_end_, at + bytes.size());
  }

  // Gives grain `index` the next sector and records it in its table (switching tables as needed).
  std::uint64_t allocate(std::uint64_t index) {
    const std::uint64_t grain_sectors = header_.grain_size;
    if (next_sector_ + grain_sectors > format::kSectorLimit32) {
      throw FormatError(file_->name(),
                        "sparse extent would pass 2^32 sectors at grain " + std::to_string(index) +
                            " (grain table entries are 32-bit)",
                        next_sector_ * kSectorSize);
    }
    const std::uint64_t t = index / geometry_.gtes_per_gt;
    if (!table_index_ || *table_index_ != t) {
      store_table();
      table_index_ = t;
      table_.assign(static_cast<std::size_t>(geometry_.gtes_per_gt), 0);
    }
    const std::uint64_t sector = next_sector_;
    table_[static_cast<std::size_t>(index % geometry_.gtes_per_gt)] = static_cast<std::uint32_t>(sector);
    next_sector_ += grain_sectors;
    return sector;
  }

  // Stores the buffered grain (if any and not all zeros) and empties the buffer.
  void store_current() {
    if (!current_) return;
    if (!all_zero(grain_)) {
      std::uint64_t sector = allocate(*current_);
      put(sector * kSectorSize, grain_);
    }
    std::fill(grain_.begin(), grain_.end(), std::uint8_t{0});
    current_.reset();
  }

  // Stores the whole grains at the front of data (starting at grain `index`): consecutive non-zero
  // grains of one table are appended with one write. Returns the bytes consumed (whole grains).
  std::size_t store_whole_grains(std::uint64_t index, std::span<const std::uint8_t> data) {
    const std::size_t grain = static_cast<std::size_t>(grain_bytes_);
    const std::size_t whole = data.size() / grain;
    std::size_t i = 0;
    while (i < whole) {
      if (all_zero(data.subspan(i * grain, grain))) {
        ++i;
        continue;
      }
      const std::size_t first = i;
      const std::uint64_t first_sector = allocate(index + i);
      ++i;
      while (i < whole && (index + i) % geometry_.gtes_per_gt != 0 &&
             !all_zero(data.subspan(i * grain, grain))) {
        allocate(index + i);
        ++i;
      }
      put(first_sector * kSectorSize, data.subspan(first * grain, (i - first) * grain));
    }
    return whole * grain;
  }

  // Writes the current table into both of its pre-allocated places.
  void store_table() {
    if (!table_index_) return;
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(geometry_.gt_sectors * kSectorSize), 0);
    format::encode_u32_table(table_, bytes);
    put(rgt_sector(*table_index_) * kSectorSize, bytes);
    put(gt_sector(*table_index_) * kSectorSize, bytes);
    table_index_.reset();
  }

  std::shared_ptr<ByteSink> file_;
  std::string descriptor_;
  std::uint64_t grain_bytes_ = 0;
  std::uint64_t size_ = 0;
  format::GrainGeometry geometry_;
  format::SparseHeader header_;
  std::uint64_t next_sector_ = 0;
  std::uint64_t end_ = 0;                 // end of the previous write (calls never go backwards)
  std::uint64_t written_end_ = 0;         // highest byte written to the file
  std::optional<std::uint64_t> current_;  // grain being assembled in grain_
  std::vector<std::uint8_t> grain_;
  std::optional<std::uint64_t> table_index_;  // table being filled in table_
  std::vector<std::uint32_t> table_;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<ExtentWriter> make_sparse_writer(std::shared_ptr<ByteSink> file,
                                                 const SparseWriterParams& params) {
  if (!file) throw UsageError("", "make_sparse_writer needs a file");
  return std::make_unique<SparseWriter>(std::move(file), params);
}

}  // namespace vmdk::sparse
