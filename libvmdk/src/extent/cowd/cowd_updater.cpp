// COWD in-place updates (vmdk-format.md 4.2.2): redirect-on-write grains and on-demand 4096-entry
// grain tables appended at the free sector, published in the crash-safe order of DESIGN.md.
#include "extent/cowd/cowd_updater.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "extent/cowd/cowd_layout.hpp"
#include "extent/cowd/cowd_tables.hpp"
#include "io/checked_math.hpp"
#include "format/cowd_header.hpp"
#include "format/endian.hpp"
#include "format/grain_directory.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::cowd {

namespace {

void store_le32(std::uint8_t* out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

class Updater final : public extent::GrainUpdater {
 public:
  Updater(std::shared_ptr<File> file, std::uint64_t size_bytes)
      : file_(std::move(file)), layout_(load_cowd_layout(*file_, size_bytes)), size_(size_bytes) {
    // Validates every directory entry like the reader (inside the file, no overlaps).
    CowdTables check(file_, layout_, size_);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(layout_.gd_entries_used * 4));
    read_exact(*file_, layout_.gd_byte_offset, bytes, "grain directory");
    gd_ = format::decode_u32_table(bytes, bytes.size() / 4);
    // Append past freeSector and past the end of the file: after a kill between publishing
    // entries and updating freeSector, the header is stale, and appending at it would overwrite
    // live grains. Anything past freeSector that nothing points to is only a leak.
    const std::uint64_t file_sectors = vmdk::div_round_up(layout_.file_size, format::kSectorSize);
    next_sector_ =
        std::max<std::uint64_t>({layout_.header.free_sector, file_sectors, layout_.metadata_end_sector});
    append_start_ = next_sector_;
  }

  std::uint64_t grain_bytes() const override { return layout_.grain_bytes; }
  std::uint64_t capacity_bytes() const override { return size_; }
  bool zeroed_grains() const override { return false; }

  void stage_grain(std::uint64_t grain_index, std::span<const std::uint8_t> data) override {
    check_index(grain_index);
    if (data.size() != layout_.grain_bytes) {
      throw UsageError(layout_.name, "staged grain " + std::to_string(grain_index) + " has " +
                                         hex(data.size()) + " bytes instead of " + hex(layout_.grain_bytes));
    }
    std::uint64_t sector = 0;
    if (auto copy = staged_copies_.find(grain_index); copy != staged_copies_.end()) {
      sector = copy->second;  // not visible to anybody yet: rewrite the staged copy
    } else {
      const std::uint64_t gd_index = grain_index / format::kCowdGtes;
      if (gd_[gd_index] == 0 && new_tables_.count(gd_index) == 0) {
        // The table goes first, zero-filled, right where the range's first grain would go (4.2.2).
        new_tables_[gd_index] = append(kTableSectors, "grain table " + std::to_string(gd_index));
      }
      sector = append(layout_.header.grain_size, "grain " + std::to_string(grain_index));
      staged_copies_[grain_index] = sector;
    }
    std::copy(data.begin(), data.end(),
              pending_.begin() + static_cast<std::ptrdiff_t>((sector - append_start_) * format::kSectorSize));
    staged_[grain_index] = static_cast<std::uint32_t>(sector);
  }

  void stage_zeroed(std::uint64_t grain_index) override {
    throw UsageError(layout_.name, "vmfsSparse (COWD) extents have no zeroed-grain entry (grain " +
                                       std::to_string(grain_index) + ")");
  }

  void stage_unallocated(std::uint64_t grain_index) override {
    check_index(grain_index);
    staged_[grain_index] = format::kGteUnallocated;
  }

  std::optional<std::uint64_t> grain_host_offset(std::uint64_t grain_index) const override {
    check_index(grain_index);
    const std::uint64_t gd_index = grain_index / format::kCowdGtes;
    if (gd_[gd_index] == 0) return std::nullopt;
    layout_.file_size = file_->size();
    CowdTables tables(file_, layout_, size_);
    const std::uint32_t entry =
        tables.table(gd_index)[static_cast<std::size_t>(grain_index % format::kCowdGtes)];
    if (entry <= kGteZeroGrain) return std::nullopt;
    return std::uint64_t{entry} * format::kSectorSize;
  }

  void overwrite_grain(std::uint64_t grain_index, std::span<const std::uint8_t> data) override {
    extent::overwrite_held_grain(*this, *file_, layout_.name, grain_index, data);
  }

  void flush() override { file_->flush(); }

  void commit() override {
    if (staged_.empty() && pending_.empty()) return;
    // 1. Grains and new tables, the tables already holding their entries: nothing points to
    //    these bytes until step 2, so a kill here leaves only a leak.
    std::vector<std::pair<std::uint64_t, std::uint32_t>> old_table_entries;
    for (const auto& [grain, value] : staged_) {
      const std::uint64_t gd_index = grain / format::kCowdGtes, entry = grain % format::kCowdGtes;
      if (auto t = new_tables_.find(gd_index); t != new_tables_.end()) {
        store_le32(&pending_[static_cast<std::size_t>((t->second - append_start_) * format::kSectorSize + entry * 4)],
                   value);
      } else {
        old_table_entries.emplace_back(std::uint64_t{gd_[gd_index]} * format::kSectorSize + entry * 4, value);
      }
    }
    if (!pending_.empty()) file_->write_at(append_start_ * format::kSectorSize, pending_);
    file_->flush();
    // 2. Entries of existing tables, then the directory entries of the new tables, fsync.
    std::array<std::uint8_t, 4> bytes{};
    for (const auto& [at, value] : old_table_entries) {
      store_le32(bytes.data(), value);
      file_->write_at(at, bytes);
    }
    for (const auto& [gd_index, sector] : new_tables_) {
      store_le32(bytes.data(), static_cast<std::uint32_t>(sector));
      file_->write_at(layout_.gd_byte_offset + gd_index * 4, bytes);
      gd_[gd_index] = static_cast<std::uint32_t>(sector);
    }
    file_->flush();
    // 3. freeSector last: the updater never trusts it alone (see the constructor).
    if (next_sector_ != layout_.header.free_sector) {
      layout_.header.free_sector = static_cast<std::uint32_t>(next_sector_);
      store_le32(bytes.data(), layout_.header.free_sector);
      file_->write_at(format::cowd_header_field("free_sector").offset, bytes);
      file_->flush();
    }
    staged_.clear();
    staged_copies_.clear();
    new_tables_.clear();
    pending_.clear();
    append_start_ = next_sector_;
  }

  std::size_t staged() const override { return staged_.size(); }

 private:
  void check_index(std::uint64_t grain_index) const {
    if (grain_index >= vmdk::div_round_up(size_, layout_.grain_bytes)) {
      throw UsageError(layout_.name, "grain " + std::to_string(grain_index) + " lies past the extent's " +
                                         hex(size_) + " bytes");
    }
  }

  std::uint64_t append(std::uint64_t sectors, const std::string& what) {
    if (next_sector_ + sectors > format::kSectorLimit32) {
      throw FormatError(layout_.name,
                        what + " would pass the 32-bit sector limit of COWD files (" +
                            hex((next_sector_ + sectors) * format::kSectorSize) + ")",
                        format::cowd_header_field("free_sector").offset);
    }
    const std::uint64_t sector = next_sector_;
    next_sector_ += sectors;
    pending_.resize(static_cast<std::size_t>((next_sector_ - append_start_) * format::kSectorSize), 0);
    return sector;
  }

  std::shared_ptr<File> file_;
  mutable CowdLayout layout_;
  std::uint64_t size_;
  std::vector<std::uint32_t> gd_;
  std::uint64_t next_sector_ = 0;
  std::uint64_t append_start_ = 0;                 // first sector of pending_
  std::vector<std::uint8_t> pending_;              // appended bytes not yet written: grains and new tables
  std::map<std::uint64_t, std::uint32_t> staged_;  // grain -> entry value
  std::map<std::uint64_t, std::uint64_t> staged_copies_;  // grain -> sector of its staged copy
  std::map<std::uint64_t, std::uint64_t> new_tables_;     // directory index -> table sector
};

}  // namespace

std::unique_ptr<extent::GrainUpdater> open_cowd_updater(std::shared_ptr<File> file,
                                                         std::uint64_t size_bytes) {
  return std::make_unique<Updater>(std::move(file), size_bytes);
}

}  // namespace vmdk::cowd
