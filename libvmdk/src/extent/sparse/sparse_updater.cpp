// In-place updates of hosted sparse (KDMV) extents (vmdk-format.md 2.5, 2.6, 2.8): grains are
// appended (redirect-on-write) and published by commit() in the crash-safe order of DESIGN.md.
#include "extent/sparse/sparse_updater.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "extent/sparse/grain_tables.hpp"
#include "extent/sparse/kdmv_layout.hpp"
#include "io/checked_math.hpp"
#include "format/grain_directory.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

namespace {

using format::kSectorSize;

class Updater final : public SparseUpdater {
 public:
  explicit Updater(std::shared_ptr<File> file) : file_(std::move(file)), layout_(load_kdmv_layout(*file_)) {
    const format::SparseHeader& h = layout_.header;
    if (layout_.compressed || layout_.markers || h.gd_offset == format::kGdAtEnd) {
      throw UnsupportedError(layout_.name,
                             "compressed or streamOptimized extents cannot be updated in place "
                             "(convert the disk to monolithicSparse first)");
    }
    gt_bytes_ = layout_.geometry.gtes_per_gt * 4;
    // Validates the primary directory like the reader (entries inside the file, past the header).
    GrainTables check(file_, layout_, layout_.capacity_bytes);
    gd_ = read_directory(layout_.gd_byte_offset, "grain directory");
    redundant_ = (h.flags & format::kFlagRedundantGd) != 0 && h.rgd_offset != 0;
    if (redundant_) load_redundant_directory();
    const std::uint64_t file_sectors = vmdk::div_round_up(layout_.file_size, kSectorSize);
    next_sector_ = vmdk::div_round_up(file_sectors, h.grain_size) * h.grain_size;
  }

  std::uint64_t grain_bytes() const override { return layout_.grain_bytes; }
  std::uint64_t capacity_bytes() const override { return layout_.capacity_bytes; }
  bool zeroed_grains() const override { return (layout_.header.flags & format::kFlagZeroedGrainGte) != 0; }

  void stage_grain(std::uint64_t grain_index, std::span<const std::uint8_t> data) override {
    check_index(grain_index);
    if (data.size() != layout_.grain_bytes) {
      throw UsageError(layout_.name, "staged grain " + std::to_string(grain_index) + " has " +
                                         hex(data.size()) + " bytes instead of " + hex(layout_.grain_bytes));
    }
    // A grain staged again before commit() reuses its staged copy: nobody can see it yet.
    auto copy = staged_copies_.find(grain_index);
    std::uint64_t sector = 0;
    if (copy != staged_copies_.end()) {
      sector = copy->second;
    } else {
      sector = allocate(layout_.header.grain_size, "grain " + std::to_string(grain_index));
    }
    file_->write_at(sector * kSectorSize, data);
    staged_copies_[grain_index] = sector;
    staged_[grain_index] = static_cast<std::uint32_t>(sector);
  }

  void stage_zeroed(std::uint64_t grain_index) override {
    check_index(grain_index);
    if (!zeroed_grains()) {
      throw UsageError(layout_.name, "zeroed-grain entries need flag bit 2 (0x4) in the sparse header");
    }
    staged_[grain_index] = format::kGteZeroed;
  }

  void stage_unallocated(std::uint64_t grain_index) override {
    check_index(grain_index);
    staged_[grain_index] = format::kGteUnallocated;
  }

  std::optional<std::uint64_t> grain_host_offset(std::uint64_t grain_index) const override {
    check_index(grain_index);
    const std::uint64_t per_table = layout_.geometry.gtes_per_gt;
    if (gd_[grain_index / per_table] == 0) return std::nullopt;
    if (!reader_) reader_ = std::make_unique<GrainTables>(file_, layout_, layout_.capacity_bytes);
    auto table = reader_->table(grain_index / per_table);
    const std::uint32_t entry = table[static_cast<std::size_t>(grain_index % per_table)];
    if (entry <= format::kGteZeroed) return std::nullopt;
    return std::uint64_t{entry} * kSectorSize;
  }

  void overwrite_grain(std::uint64_t grain_index, std::span<const std::uint8_t> data) override {
    extent::overwrite_held_grain(*this, *file_, layout_.name, grain_index, data);
  }

  void flush() override { file_->flush(); }

  void commit() override {
    if (staged_.empty()) return;
    reader_.reset();  // tables change below
    // 1. Grain data durable before anything points to it.
    file_->flush();
    layout_.file_size = file_->size();
    GrainTables tables(file_, layout_, layout_.capacity_bytes);

    // 2. New contents of every touched table, built from the validated primary copy.
    struct Touched {
      std::uint64_t index = 0;
      std::uint64_t primary = 0;    // sector
      std::uint64_t redundant = 0;  // sector, 0 without redundant metadata
      bool created = false;
      std::vector<std::uint8_t> bytes;
    };
    std::vector<Touched> touched;
    const std::uint64_t per_table = layout_.geometry.gtes_per_gt;
    for (auto it = staged_.begin(); it != staged_.end();) {
      Touched t;
      t.index = it->first / per_table;
      std::vector<std::uint32_t> entries;
      if (gd_[t.index] != 0) {
        auto table = tables.table(t.index);
        entries.assign(table.get(), table.get() + per_table);
        t.primary = gd_[t.index];
        t.redundant = redundant_ ? rgd_[t.index] : 0;
      } else {
        entries.assign(static_cast<std::size_t>(per_table), 0);
        t.created = true;
      }
      for (; it != staged_.end() && it->first / per_table == t.index; ++it) {
        entries[static_cast<std::size_t>(it->first % per_table)] = it->second;
      }
      t.bytes.assign(static_cast<std::size_t>(gt_bytes_), 0);
      format::encode_u32_table(entries, t.bytes);
      touched.push_back(std::move(t));
    }
    // Tables for directory entries of 0 go at the end of the file; grains stay grain-aligned after them.
    const std::uint64_t gt_sectors = layout_.geometry.gt_sectors;
    bool created = false;
    for (Touched& t : touched) {
      if (!t.created) continue;
      created = true;
      t.primary = allocate(gt_sectors, "grain table " + std::to_string(t.index));
      if (redundant_) t.redundant = allocate(gt_sectors, "redundant grain table " + std::to_string(t.index));
    }
    if (created)
      next_sector_ =
          vmdk::div_round_up(next_sector_, layout_.header.grain_size) * layout_.header.grain_size;

    // 3. Primary tables, then redundant tables, then durable.
    for (const Touched& t : touched) file_->write_at(t.primary * kSectorSize, t.bytes);
    for (const Touched& t : touched) {
      if (t.redundant != 0) file_->write_at(t.redundant * kSectorSize, t.bytes);
    }
    file_->flush();

    // 4. Directory entries of new tables last: a kill before this point only leaks the tables.
    if (created) {
      std::set<std::uint64_t> gd_sectors;
      for (const Touched& t : touched) {
        if (!t.created) continue;
        gd_[t.index] = static_cast<std::uint32_t>(t.primary);
        if (redundant_) rgd_[t.index] = static_cast<std::uint32_t>(t.redundant);
        gd_sectors.insert(t.index * 4 / kSectorSize);
      }
      write_directory_sectors(gd_, layout_.gd_byte_offset, gd_sectors);
      if (redundant_) write_directory_sectors(rgd_, layout_.header.rgd_offset * kSectorSize, gd_sectors);
      file_->flush();
    }
    staged_.clear();
    staged_copies_.clear();
  }

  std::size_t staged() const override { return staged_.size(); }

 private:
  // Committed tables for grain_host_offset(), rebuilt after each commit.
  mutable std::unique_ptr<GrainTables> reader_;
  void check_index(std::uint64_t grain_index) const {
    if (grain_index >= layout_.geometry.num_grains) {
      throw UsageError(layout_.name, "grain " + std::to_string(grain_index) + " is past the capacity (" +
                                         std::to_string(layout_.geometry.num_grains) + " grains)");
    }
  }

  // Sectors at the end of the file for `what`; FormatError when they would pass 2^32 sectors.
  std::uint64_t allocate(std::uint64_t sectors, const std::string& what) {
    if (next_sector_ + sectors > format::kSectorLimit32) {
      throw FormatError(layout_.name,
                        what + " would pass 2^32 sectors (sparse extent files are limited to 2 TiB)",
                        next_sector_ * kSectorSize);
    }
    std::uint64_t sector = next_sector_;
    next_sector_ += sectors;
    return sector;
  }

  std::vector<std::uint32_t> read_directory(std::uint64_t at, std::string_view what) const {
    // load_kdmv_layout / the caller checked that the directory lies inside the file.
    const std::size_t count = static_cast<std::size_t>(layout_.geometry.num_gd_entries);
    std::vector<std::uint8_t> bytes(count * 4);
    read_exact(*file_, at, bytes, what);
    return format::decode_u32_table(bytes, count);
  }

  // The redundant directory, checked with the reader's rules for the primary one, and against it
  // (VirtualBox refuses a pair where only one entry is 0 or both name the same table).
  void load_redundant_directory() {
    const std::string& name = layout_.name;
    const std::uint64_t rgd = layout_.header.rgd_offset;
    const std::uint64_t field_at = format::sparse_header_field("rgd_offset").offset;
    const std::uint64_t count = layout_.geometry.num_gd_entries;
    if (rgd < layout_.table_floor_sector || rgd >= format::kSectorLimit32) {
      throw FormatError(
          name, "sparse header redundant grain directory offset " + hex(rgd) + " is out of range", field_at);
    }
    if (rgd * kSectorSize + count * 4 > layout_.file_size) {
      throw FormatError(name,
                        "redundant grain directory ends past end of file (" +
                            hex(rgd * kSectorSize + count * 4) + " > " + hex(layout_.file_size) + ")",
                        field_at);
    }
    rgd_ = read_directory(rgd * kSectorSize, "redundant grain directory");
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t sector = rgd_[i];
      const std::uint64_t at = rgd * kSectorSize + i * 4;
      const std::string where = "redundant grain directory entry " + std::to_string(i);
      if ((sector == 0) != (gd_[i] == 0)) {
        throw FormatError(name,
                          where + " (" + hex(sector) + ") disagrees with the primary entry (" + hex(gd_[i]) +
                              "): only one of them is 0",
                          at);
      }
      if (sector == 0) continue;
      if (sector == gd_[i]) {
        throw FormatError(
            name, where + " names the same table as the primary entry (sector " + hex(sector) + ")", at);
      }
      if (sector < layout_.table_floor_sector) {
        throw FormatError(name,
                          where + " points into the header (sector " + hex(sector) + " < " +
                              hex(layout_.table_floor_sector) + ")",
                          at);
      }
      if (sector * kSectorSize + gt_bytes_ > layout_.file_size) {
        throw FormatError(name,
                          where + " points past end of file (" + hex(sector * kSectorSize + gt_bytes_) +
                              " > " + hex(layout_.file_size) + ")",
                          at);
      }
    }
  }

  // Writes the given 512-byte sectors of a directory (the last one only up to its last entry).
  void write_directory_sectors(const std::vector<std::uint32_t>& entries, std::uint64_t at,
                               const std::set<std::uint64_t>& sectors) {
    const std::uint64_t per_sector = kSectorSize / 4;
    for (std::uint64_t s : sectors) {
      const std::uint64_t first = s * per_sector;
      const std::uint64_t last = std::min<std::uint64_t>(first + per_sector, entries.size());
      std::vector<std::uint8_t> bytes(static_cast<std::size_t>((last - first) * 4));
      format::encode_u32_table(std::span<const std::uint32_t>(entries).subspan(
                                   static_cast<std::size_t>(first), static_cast<std::size_t>(last - first)),
                               bytes);
      file_->write_at(at + first * 4, bytes);
    }
  }

  std::shared_ptr<File> file_;
  KdmvLayout layout_;
  std::uint64_t gt_bytes_ = 0;
  bool redundant_ = false;
  std::vector<std::uint32_t> gd_;
  std::vector<std::uint32_t> rgd_;
  std::uint64_t next_sector_ = 0;
  std::map<std::uint64_t, std::uint32_t> staged_;         // grain -> entry to publish
  std::map<std::uint64_t, std::uint64_t> staged_copies_;  // grain -> sector of its staged (unpublished) copy
};

}  // namespace

std::unique_ptr<SparseUpdater> SparseUpdater::open(std::shared_ptr<File> file) {
  if (!file) throw UsageError("", "SparseUpdater::open needs a file");
  return std::make_unique<Updater>(std::move(file));
}

}  // namespace vmdk::sparse
