// Grain directory and a bounded, thread-safe LRU cache of grain tables of a COWD extent
// (vmdk-format.md 4.2.2). Every directory entry and table entry is bounds-checked before use.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "extent/cowd/cowd_layout.hpp"
#include "extent/damage.hpp"
#include "extent/grain_overlaps.hpp"
#include "extent/lru_cache.hpp"
#include "vmdk/io.hpp"

namespace vmdk::cowd {

// One grain table in bytes and sectors (16 KiB); shared here because unity builds put the
// files that use it into one translation unit.
inline constexpr std::uint64_t kTableBytes = format::kCowdGtes * 4;
inline constexpr std::uint64_t kTableSectors = kTableBytes / format::kSectorSize;

/// A grain table entry of 1. VMware's documentation does not mention it; xen-orchestra, the one
/// reader that handles it, reads a zeroed grain (vmdk-format.md 4.2.2, 9.6). Sector 1 lies inside
/// the 4-sector header, so 1 never locates data: it reads as zeros that hide the parent, as the
/// KDMV zeroed-grain entry does, instead of failing every read of an image a tool wrote that way.
inline constexpr std::uint32_t kGteZeroGrain = 1;

class CowdTables {
 public:
  /// The 4096 entries of one table.
  using Table = std::shared_ptr<const std::uint32_t[]>;

  /// Reads the directory entries covering [0, mapped_bytes) and checks that each table lies inside
  /// the file past the header and directory, and that no two tables overlap. Throws FormatError
  /// naming the entry and its offset.
  CowdTables(std::shared_ptr<const ByteSource> file, const CowdLayout& layout, std::uint64_t mapped_bytes);

  /// For `check`: the same checks, but every damaged directory entry goes to log (codes
  /// gd_entry_into_metadata, gd_entry_past_eof, gd_entries_share_table) instead of being thrown;
  /// an entry pointing into the metadata or past the end of the file then reads as 0. Throws IoError.
  CowdTables(std::shared_ptr<const ByteSource> file, const CowdLayout& layout, std::uint64_t mapped_bytes,
             extent::DamageLog& log);

  /// The table of directory entry gd_index, nullptr when the entry is 0 (or past the used ones).
  /// Entries of grains inside the mapped range are checked when the table is loaded: 0, 1 (zero
  /// grain), or a grain past the metadata, outside every table and ending inside the file.
  /// Throws FormatError / IoError.
  Table table(std::uint64_t gd_index) const;

  /// Directory entries read: those covering the mapped range.
  std::uint64_t directory_size() const { return directory_.size(); }

  /// For `check`: reads table gd_index (nothing when the entry is 0) and adds every damaged entry
  /// to log (codes gt_entry_into_metadata, gt_entry_past_eof, grain_truncated). Throws IoError.
  /// With overlaps, the grains of its good entries are marked there (for report_shared_grains).
  void scan_table(std::uint64_t gd_index, extent::DamageLog& log, extent::GrainOverlaps* overlaps = nullptr) const;

  /// For `check`, after scan_table of every table with overlaps (units: the file's sectors): adds
  /// gt_entries_share_grain for every good entry whose grain overlaps another entry's, each of
  /// them named. Reads the tables again only when overlaps found a collision. Throws IoError.
  void report_shared_grains(const extent::GrainOverlaps& overlaps, extent::DamageLog& log) const;

  /// Byte offset in the file of entry `entry` of table gd_index (which must be non-zero).
  std::uint64_t entry_offset(std::uint64_t gd_index, std::uint64_t entry) const {
    return std::uint64_t{directory_[gd_index]} * 512 + entry * 4;
  }

 private:
  void read_directory(extent::DamageLog* log);
  Table load(std::uint64_t gd_index) const;
  Table read_table(std::uint64_t gd_index) const;
  // Throws the first damage when log is null, else adds each to it.
  // A good allocated entry: its index in the table, its sector and the bytes of its grain in use.
  using GoodEntry = std::function<void(std::uint64_t entry, std::uint64_t sector, std::uint64_t bytes)>;
  // Throws the first damage when log is null, else adds each to it; good entries go to on_good.
  void check_table(std::uint64_t gd_index, const std::uint32_t* entries, extent::DamageLog* log,
                   const GoodEntry& on_good = nullptr) const;
  void report(extent::Damage damage, extent::DamageLog* log) const;

  std::shared_ptr<const ByteSource> file_;
  CowdLayout layout_;
  std::uint64_t mapped_bytes_;
  std::vector<std::uint32_t> directory_;
  /// (sector, directory index) of every table, sorted by sector: grains must not fall inside one.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> tables_by_sector_;

  mutable extent::LruCache<Table> cache_;  // decoded tables by directory index
};

}  // namespace vmdk::cowd
