// Grain directory and a bounded, thread-safe LRU cache of decoded grain tables of a SESparse
// extent (vmdk-format.md 4.3.3). Every entry is checked before it is used.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "extent/damage.hpp"
#include "extent/grain_overlaps.hpp"
#include "extent/sesparse/sesparse_layout.hpp"
#include "extent/lru_cache.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sesparse {

/// Decoded table entries: the grain's byte offset in the file, or one of these.
inline constexpr std::uint64_t kEntryUnallocated = 0;  ///< type 0: read the parent
inline constexpr std::uint64_t kEntryZero = 1;         ///< types 1 (unmapped) and 2 (zero): zeros

class SesparseTables {
 public:
  /// kTableEntries decoded entries of one table.
  using Table = std::shared_ptr<const std::uint64_t[]>;

  /// Reads the directory entries covering [0, mapped_bytes): each is 0 or 0x10000000 in the high
  /// half with the index of a table inside the tables region and the file, no table used twice.
  /// Throws FormatError naming the entry and its offset.
  SesparseTables(std::shared_ptr<const ByteSource> file, const SesparseLayout& layout,
                 std::uint64_t mapped_bytes);

  /// For `check`: the same checks, but every damaged directory entry goes to log (codes
  /// gd_entry_invalid, gd_entry_past_eof, gd_entries_share_table) instead of being thrown; an
  /// entry that is not a usable table then reads as 0. Throws IoError.
  SesparseTables(std::shared_ptr<const ByteSource> file, const SesparseLayout& layout,
                 std::uint64_t mapped_bytes, extent::DamageLog& log);

  /// The decoded table of directory entry gd_index, nullptr when the entry is 0. Entries of grains
  /// inside the mapped range are checked when the table is loaded (type 0 entries all zero, type 3
  /// inside the grains region and the file, no other type). Throws FormatError / IoError.
  Table table(std::uint64_t gd_index) const;

  /// Directory entries read: those covering the mapped range.
  std::uint64_t directory_size() const { return directory_.size(); }

  /// For `check`: reads table gd_index (nothing when the entry is 0) and adds every damaged entry
  /// to log (codes gt_entry_invalid, gt_entry_past_eof, grain_truncated). Throws IoError.
  /// With overlaps, the grain slots of its good entries are marked there (for report_shared_grains).
  void scan_table(std::uint64_t gd_index, extent::DamageLog& log, extent::GrainOverlaps* overlaps = nullptr) const;

  /// For `check`, after scan_table of every table with overlaps (units: the grain slots): adds
  /// gt_entries_share_grain for every good entry whose grain slot another entry uses too, each of
  /// them named. Reads the tables again only when overlaps found a collision. Throws IoError.
  void report_shared_grains(const extent::GrainOverlaps& overlaps, extent::DamageLog& log) const;

  /// Byte offset in the file of entry `entry` of table gd_index (whose directory entry is not 0).
  std::uint64_t entry_offset(std::uint64_t gd_index, std::uint64_t entry) const {
    return layout_.gt_byte_offset + (directory_[gd_index] & 0xffffffffu) * kTableBytes + entry * 8;
  }

 private:
  void read_directory(extent::DamageLog* log);
  // Decodes table gd_index; throws its first damage when log is null, else adds each to it.
  Table load(std::uint64_t gd_index, extent::DamageLog* log) const;
  void report(extent::Damage damage, extent::DamageLog* log) const;
  // The grain slot a decoded entry (a host byte offset in the grains region) names.
  std::uint64_t grain_slot(std::uint64_t host) const { return (host - layout_.grains_byte_offset) / kGrainBytes; }

  std::shared_ptr<const ByteSource> file_;
  SesparseLayout layout_;
  std::uint64_t mapped_bytes_;
  std::vector<std::uint64_t> directory_;  ///< raw entries

  mutable extent::LruCache<Table> cache_;  // decoded tables by directory index
};

}  // namespace vmdk::sesparse
