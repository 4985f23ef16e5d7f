// A structure-by-structure scan of one hosted sparse (KDMV) or stream file for check and repair
// (vmdk-format.md 2.1-2.7, 3.5, 6.5, 7.1): every damage becomes a finding, none is thrown, and the
// scan proposes the tables a repair would write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "extent/damage.hpp"
#include "extent/sparse/kdmv_layout.hpp"
#include "vmdk/finding.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sparse {

/// The entries of one grain table, held so that a table naming no grain (nearly every table of a
/// large, mostly empty disk) stores no entries: a scan's memory follows the grains the file holds,
/// not the disk's capacity (DESIGN.md "Cost is bounded by the input").
class GrainTable {
 public:
  GrainTable() = default;
  GrainTable(const GrainTable& other);
  GrainTable& operator=(const GrainTable& other);
  GrainTable(GrainTable&&) noexcept = default;
  GrainTable& operator=(GrainTable&&) noexcept = default;
  /// A table of n entries, all 0 (unallocated).
  static GrainTable unallocated(std::size_t n);
  /// Decoded entries; nothing is kept when every one is 0.
  static GrainTable of(std::vector<std::uint32_t> entries);

  bool empty() const { return size() == 0; }  ///< no table at all
  std::size_t size() const { return body_ ? body_->size : 0; }
  /// False when every entry is 0 (nothing stored): callers skip such a table without walking it.
  bool holds_entries() const { return body_ && !body_->entries.empty(); }
  std::uint32_t operator[](std::size_t e) const { return holds_entries() ? body_->entries[e] : 0; }
  void set(std::size_t e, std::uint32_t sector);
  std::vector<std::uint32_t> expanded() const;
  bool operator==(const GrainTable& other) const;

 private:
  struct Body {
    std::uint32_t size = 0;
    std::vector<std::uint32_t> entries;  // empty when every entry is 0
  };
  // One pointer: a directory of a million entries keeps a million of these (null: no table).
  std::unique_ptr<Body> body_;
};

/// One copy (primary or redundant) of one grain table as found on disk. Kept small: a scan holds
/// one per directory entry (its directory entry is at the directory's offset + 4 * index).
struct TableCopy {
  GrainTable entries;               ///< the table (empty when not usable)
  std::uint32_t sector = 0;         ///< its directory entry (0: no table)
  bool usable = false;              ///< the directory entry points at a readable table

  /// Per entry: past end of file, into metadata, truncated grain.
  bool is_bad(std::size_t e) const { return bad_ && (*bad_)[e]; }
  bool any_bad() const { return bad_ != nullptr; }
  std::size_t bad_count() const;
  void mark_bad(std::size_t e);

 private:
  std::unique_ptr<std::vector<bool>> bad_;  // null while no entry is bad
};

/// What the scan is for: check needs only the findings, repair also the ranges it would lose.
enum class ScanUse { findings, repair };

/// A range of this extent's virtual space whose data a repair cannot keep.
struct LostRange {
  std::uint64_t offset = 0;  ///< extent-relative bytes
  std::uint64_t length = 0;
  std::string reason;
};

/// A host byte range no structure uses.
struct HostRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct SparseScan {
  std::string file;
  std::optional<KdmvLayout> layout;  ///< absent when the header (or a stream's footer) is unusable
  bool footer_damaged = false;       ///< a stream whose footer cannot be used: salvage by marker scan
  std::vector<Finding> findings;
  bool has_redundant = false;        ///< the redundant directory is in use and lies inside the file
  std::vector<TableCopy> primary;    ///< per directory index (uncompressed extents)
  std::vector<TableCopy> redundant;  ///< per directory index, when has_redundant

  // What a repair would make of it (uncompressed extents with a usable layout only).
  std::vector<GrainTable> repaired;                   ///< per index: the table to keep (empty: none)
  std::vector<LostRange> lost;                        ///< entries the repaired tables clear
  std::vector<HostRange> leaks;                       ///< unused space after the repair
  std::optional<std::uint64_t> truncate_to;           ///< drop a truncated last grain
  bool tables_need_writing = false;  ///< some copy on disk differs from `repaired`
  /// The size is not whole sectors and no cut grain explains it: bytes were inserted or removed
  /// inside the file (finding file_size_unaligned); nothing in it may be rewritten.
  bool size_unaligned = false;
};

/// Scans file (size_bytes: the descriptor line's size, to compare with the header capacity;
/// 0 skips that check). Never throws for damage; IoError for a failing read.
/// With ScanUse::findings the lost ranges are not listed (`lost` stays empty): check reports
/// findings only, and a directory of a million damaged entries must not cost a million texts.
SparseScan scan_sparse(const ByteSource& file, std::uint64_t size_bytes, ScanUse use = ScanUse::repair);

/// At most this many findings are listed per file (shared by every kind's scan, extent/damage.hpp).
using extent::kMaxFindingsPerFile;

}  // namespace vmdk::sparse
