// Where a descriptor's lines lie in their file, so that findings about a key or an extent line can
// give the byte offset of that line (standalone descriptor or the embedded area of a sparse file).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vmdk/disk.hpp"

namespace vmdk {

class DescriptorLines {
 public:
  /// Reads the descriptor text of disk again (at most its 1 MiB / 10 MiB limits); never throws for
  /// damage: offsets are then simply unknown.
  explicit DescriptorLines(const Disk& disk);

  /// Byte offset in the file of the line setting key (case-sensitive, first match).
  std::optional<std::uint64_t> key(std::string_view key) const;
  /// Byte offset of the index-th extent line (0-based).
  std::optional<std::uint64_t> extent_line(std::size_t index) const;

 private:
  std::string text_;
  std::uint64_t base_ = 0;  ///< file offset of text_[0]
};

}  // namespace vmdk
