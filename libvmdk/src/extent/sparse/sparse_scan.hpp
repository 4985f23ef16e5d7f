// A structure-by-structure scan of one hosted sparse (KDMV) or stream file for check and repair
// (vmdk-format.md 2.1-2.7, 3.5, 6.5, 7.1): every damage becomes a finding, none is thrown, and the
// scan proposes the tables a repair would write.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "extent/damage.hpp"
#include "extent/sparse/kdmv_layout.hpp"
#include "vmdk/finding.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sparse {

/// One copy (primary or redundant) of one grain table as found on disk.
struct TableCopy {
  std::uint32_t sector = 0;         ///< its directory entry (0: no table)
  std::uint64_t entry_at = 0;       ///< byte offset of that directory entry
  bool usable = false;              ///< the directory entry points at a readable table
  std::vector<std::uint32_t> entries;  ///< the table (empty when not usable)
  std::vector<bool> bad;            ///< per entry: past end of file, into metadata, truncated grain
};

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
  std::vector<std::vector<std::uint32_t>> repaired;  ///< per index: the table to keep (empty: none)
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
SparseScan scan_sparse(const ByteSource& file, std::uint64_t size_bytes);

/// At most this many findings are listed per file (shared by every kind's scan, extent/damage.hpp).
using extent::kMaxFindingsPerFile;

}  // namespace vmdk::sparse
