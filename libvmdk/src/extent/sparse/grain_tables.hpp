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

class GrainTables {
 public:
  /// The gtes_per_gt entries of one table. Tables read together share one allocation (a deep
  /// chain loads thousands of tables, and every fresh page costs a fault).
  using Table = std::shared_ptr<const std::uint32_t[]>;

  /// Reads the primary directory entries covering [0, mapped_bytes) and checks that each table
  /// lies inside the file past the header. Throws FormatError naming the entry and its offset.
  GrainTables(std::shared_ptr<const ByteSource> file, const KdmvLayout& layout, std::uint64_t mapped_bytes);

  /// The table of directory entry gd_index (< directory_size()), nullptr when the entry is 0.
  /// Entries of grains inside the mapped range are checked: 0, 1, or a grain (record) that starts
  /// at or after overHead and ends inside the file. Throws FormatError / IoError.
  Table table(std::uint64_t gd_index) const;

  /// Drops the cached tables (a walk over the whole extent that will not come back: a split disk's
  /// thousands of extents would otherwise each keep theirs).
  void forget_cached() const;

  std::uint64_t directory_size() const { return directory_.size(); }
  /// The sector directory entry gd_index names (0: no table).
  std::uint32_t table_sector(std::uint64_t gd_index) const { return directory_[gd_index]; }
  /// Byte offset in the file of entry `entry` of table gd_index (which must be non-zero).
  std::uint64_t entry_offset(std::uint64_t gd_index, std::uint64_t entry) const {
    return std::uint64_t{directory_[gd_index]} * 512 + entry * 4;
  }

 private:
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
};

}  // namespace vmdk::sparse
