// New empty SESparse extents (vmdk-format.md 4.3.1, 4.3.2): geometry like ESXi's, headers written
// last so that a file without them is never taken for a delta.
#include "extent/sesparse/sesparse_writer.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "extent/sesparse/sesparse_layout.hpp"
#include "io/checked_math.hpp"
#include "format/endian.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sesparse {

namespace {

// ESXi starts the journal and every later region on a 2048-sector (1 MiB) boundary and makes
// none shorter than that (the 100 MiB and 512 MiB extents of 4.3.1).
constexpr std::uint64_t kRegionAlign = 2048;

void check_capacity(const std::string& name, std::uint64_t capacity_bytes) {
  if (capacity_bytes == 0 || capacity_bytes % format::kSectorSize != 0 ||
      capacity_bytes / format::kSectorSize > format::kSesparseMaxCapacitySectors) {
    throw UsageError(name, "a seSparse delta holds a positive multiple of 512 bytes up to 64 TiB; got " +
                               std::to_string(capacity_bytes));
  }
}

std::uint64_t region_sectors(std::uint64_t bytes) {
  return std::max(
      kRegionAlign,
      vmdk::div_round_up(vmdk::div_round_up(bytes, format::kSectorSize), kRegionAlign) * kRegionAlign);
}

class SesparseWriter final : public ExtentWriter {
 public:
  SesparseWriter(std::shared_ptr<ByteSink> file, std::uint64_t capacity_bytes)
      : file_(std::move(file)), capacity_(capacity_bytes), header_(new_sesparse_header(capacity_bytes)) {}

  std::uint64_t size() const override { return capacity_; }

  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (offset + data.size() > capacity_) {
      throw UsageError(file_->name(), "write past the end of the SESparse extent (" +
                                          hex(offset + data.size()) + " > " + hex(capacity_) + ")");
    }
    if (std::any_of(data.begin(), data.end(), [](std::uint8_t b) { return b != 0; })) {
      throw UnsupportedError(file_->name(),
                             "a new seSparse delta is created empty; write data through it afterwards "
                             "(vmdkit write)",
                             offset);
    }
  }

  void finish() override {
    if (finished_) return;
    // The metadata regions stay holes: an all-zero directory, tables, bitmap and backmap are an
    // empty delta. The size first, then the headers, the constant header last.
    file_->resize(file_bytes());
    format::SesparseVolatileHeader volatile_header;
    volatile_header.next_txn_seq_number = 1;
    file_->write_at(header_.volatile_header_offset * format::kSectorSize,
                    format::encode_sesparse_volatile_header(volatile_header));
    // The journal's format is not public (4.3.3); its header gets the magic and the transaction
    // counter that an ESXi file shows there, and the volatile header says nothing is to replay.
    std::array<std::uint8_t, format::kSectorSize> journal{};
    format::store_le64(journal, 0, kJournalHeaderMagic);
    format::store_le64(journal, 8, volatile_header.next_txn_seq_number);
    format::store_le64(journal, 16, 1);
    file_->write_at(header_.journal_header_offset * format::kSectorSize, journal);
    file_->write_at(0, format::encode_sesparse_header(header_));
    file_->flush();
    finished_ = true;
  }

  std::uint64_t file_bytes() const override { return header_.grains_offset * format::kSectorSize; }

 private:
  std::shared_ptr<ByteSink> file_;
  std::uint64_t capacity_;
  format::SesparseHeader header_;
  bool finished_ = false;
};

}  // namespace

format::SesparseHeader new_sesparse_header(std::uint64_t capacity_bytes) {
  check_capacity("", capacity_bytes);
  format::SesparseHeader h;
  h.capacity = capacity_bytes / format::kSectorSize;
  const std::uint64_t grains = vmdk::div_round_up(capacity_bytes, kGrainBytes);
  const std::uint64_t tables = vmdk::div_round_up(grains, kTableEntries);
  h.volatile_header_offset = 1;
  h.volatile_header_size = 1;
  h.journal_header_offset = 2;
  h.journal_header_size = 2;
  std::uint64_t next = kRegionAlign;
  auto place = [&next](std::uint64_t& offset, std::uint64_t& size, std::uint64_t sectors) {
    offset = next;
    size = sectors;
    next += sectors;
  };
  place(h.journal_offset, h.journal_size, kRegionAlign);
  place(h.grain_dir_offset, h.grain_dir_size, region_sectors(tables * 8));
  place(h.grain_tables_offset, h.grain_tables_size, region_sectors(tables * kTableBytes));
  place(h.free_bitmap_offset, h.free_bitmap_size, region_sectors(vmdk::div_round_up(grains, 8)));
  place(h.backmap_offset, h.backmap_size, region_sectors(grains * 8));
  h.grains_offset = next;
  h.grains_size = grains * format::kSesparseGrainSectors;
  return h;
}

std::unique_ptr<ExtentWriter> make_sesparse_writer(std::shared_ptr<ByteSink> file,
                                                   std::uint64_t capacity_bytes) {
  check_capacity(file->name(), capacity_bytes);
  return std::make_unique<SesparseWriter>(std::move(file), capacity_bytes);
}

}  // namespace vmdk::sesparse
