// Grain directory and a bounded, thread-safe LRU cache of decoded grain tables of a SESparse
// extent (vmdk-format.md 4.3.3). Every entry is checked before it is used.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "extent/sesparse/sesparse_layout.hpp"
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

  /// The decoded table of directory entry gd_index, nullptr when the entry is 0. Entries of grains
  /// inside the mapped range are checked when the table is loaded (type 0 entries all zero, type 3
  /// inside the grains region and the file, no other type). Throws FormatError / IoError.
  Table table(std::uint64_t gd_index) const;

 private:
  Table load(std::uint64_t gd_index) const;

  std::shared_ptr<const ByteSource> file_;
  SesparseLayout layout_;
  std::uint64_t mapped_bytes_;
  std::vector<std::uint64_t> directory_;  ///< raw entries

  mutable std::mutex mutex_;
  mutable std::list<std::pair<std::uint64_t, Table>> lru_;  // most recent first
  mutable std::unordered_map<std::uint64_t, std::list<std::pair<std::uint64_t, Table>>::iterator> index_;
};

}  // namespace vmdk::sesparse
