// Grain directory and a small, thread-safe LRU cache of grain tables for KDMV extents
// (vmdk-format.md 2.4, 2.5). Every entry is bounds-checked when its table is loaded. Tables are
// cached by their place in the file, not by directory entry: a hostile directory whose million
// entries all name one table costs one read of that table (DESIGN.md "Cost is bounded by the input").
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "extent/sparse/kdmv_layout.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sparse {

class TableCacheBudget;

class GrainTables {
 public:
  /// The gtes_per_gt entries of one table. Tables read together share one allocation (a deep
  /// chain loads thousands of tables, and every fresh page costs a fault).
  using Table = std::shared_ptr<const std::uint32_t[]>;

  /// Reads the primary directory entries covering [0, mapped_bytes) and checks that each table
  /// lies inside the file past the header. Throws FormatError naming the entry and its offset.
  GrainTables(std::shared_ptr<const ByteSource> file, const KdmvLayout& layout, std::uint64_t mapped_bytes);
  ~GrainTables();
  GrainTables(const GrainTables&) = delete;
  GrainTables& operator=(const GrainTables&) = delete;

  /// The table of directory entry gd_index (< directory_size()), nullptr when the entry is 0.
  /// Entries of grains inside the mapped range are checked: 0, 1, or a grain (record) that starts
  /// at or after overHead and ends inside the file. Throws FormatError / IoError.
  Table table(std::uint64_t gd_index) const;

  /// True for the table every all-zero table is answered with (one shared array of zeros, no
  /// memory per table): its whole range is unallocated, so walks need not visit its entries.
  bool is_empty(const Table& table) const { return table.get() == empty_.get(); }

  /// Drops the cached tables (a walk over the whole extent that will not come back: a split disk's
  /// thousands of extents would otherwise each keep theirs).
  void forget_cached() const;

  /// Bytes of tables the caches of every GrainTables in the process hold together (tests).
  static std::size_t process_cached_bytes();

  std::uint64_t directory_size() const { return directory_.size(); }
  /// The sector directory entry gd_index names (0: no table).
  std::uint32_t table_sector(std::uint64_t gd_index) const { return directory_[gd_index]; }
  /// Byte offset in the file of entry `entry` of table gd_index (which must be non-zero).
  std::uint64_t entry_offset(std::uint64_t gd_index, std::uint64_t entry) const {
    return std::uint64_t{directory_[gd_index]} * 512 + entry * 4;
  }

 private:
  friend class TableCacheBudget;
  /// Drops every cached table; the caller holds mutex_.
  void clear_cache_locked() const;

  /// Reads table gd_index and, in the same pread, the tables that follow it on disk when their
  /// directory entries are consecutive (QEMU and VMware lay tables out back to back), so a walk
  /// over a whole disk costs a handful of reads instead of one per table. Returns (index, table)
  /// pairs, gd_index first.
  std::vector<std::pair<std::uint64_t, Table>> load_run(std::uint64_t gd_index) const;
  /// A cached table by its sector, checked for directory entry gd_index; nullptr when not cached.
  Table cached(std::uint64_t gd_index) const;
  /// Checks the decoded entries of table gd_index, read from table_at. Throws FormatError.
  void check_table(std::uint64_t gd_index, std::uint64_t table_at, const std::uint32_t* entries) const;
  /// The fast path of check_table for a table wholly inside the mapped range: true when every
  /// entry is good; false sends check_table through its entries one by one to name the bad one.
  bool all_entries_fit(const std::uint32_t* entries, std::uint64_t count, std::uint64_t record_min) const;

  std::shared_ptr<const ByteSource> file_;
  KdmvLayout layout_;  // a copy: the cache must not depend on its owner's member order
  std::uint64_t mapped_bytes_;
  std::vector<std::uint32_t> directory_;
  std::size_t max_tables_;
  Table empty_;  // zeros, gtes_per_gt of them, shared by every GrainTables of this table size

  mutable std::mutex mutex_;
  // A cached table and the lowest directory entry it was checked for: a check for entry g covers
  // every later entry naming the same table (fewer of its grains lie inside the mapped range).
  struct Cached {
    std::uint32_t sector;
    std::uint64_t checked_from;
    Table table;
  };
  mutable std::list<Cached> lru_;  // most recent first
  mutable std::unordered_map<std::uint32_t, std::list<Cached>::iterator> index_;  // by table sector
  // Directory entries whose table was read and found empty: one bit each, kept when the cache is
  // emptied, so an empty table is neither cached nor read again (guarded by mutex_).
  mutable std::vector<bool> known_empty_;
  // The directory's tables rise with its entries (as every writer lays them out), so no two entries
  // name one table: only then may an empty table be remembered by entry rather than cached by
  // sector (a hostile directory naming one empty table a million times must not read it per entry).
  bool tables_ascend_ = true;
  mutable std::size_t cached_bytes_ = 0;  // bytes of the tables in lru_ (guarded by mutex_)

  // This cache's place in the process-wide budget (guarded by the budget's mutex, see the .cpp).
  mutable std::list<std::pair<const GrainTables*, std::size_t>>::iterator budget_slot_;
  mutable bool in_budget_ = false;
};

}  // namespace vmdk::sparse
