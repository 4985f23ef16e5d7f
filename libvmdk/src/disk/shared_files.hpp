// Host files used twice (vmdk-format.md 1.6, 6.1): two extent lines of one disk over the same bytes
// of one file, or two layers of a chain over one file. Files are told apart by device and inode,
// so hard links and symlinks to one file count as one.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "vmdk/disk.hpp"

namespace vmdk::disk {

/// Two extent lines (0-based slot indexes, first < second) whose byte ranges in one file overlap:
/// a sparse, stream, COWD or SESparse file named twice always does; flat lines when their
/// [offset, offset + size) ranges intersect. first is kDescriptor for a FLAT or VMFS line over
/// the descriptor file itself (a write through it would overwrite the descriptor).
struct ExtentAlias {
  static constexpr std::size_t kDescriptor = static_cast<std::size_t>(-1);
  std::size_t first = 0;
  std::size_t second = 0;
  std::string file;  ///< the host file as the first line resolves it
};

/// Every aliased pair of slots (those without a file, or whose file cannot be stat'ed, are skipped),
/// except that lines naming one sparse, stream, COWD or SESparse file pair with the first of them
/// only (every line is named, and their count stays linear);
/// descriptor, when not empty, is the file the lines come from: only FLAT and VMFS lines can alias
/// it (a sparse file holding its own embedded descriptor is its one extent, as it should be).
/// One stat per file: the cost is per open, never per read.
std::vector<ExtentAlias> find_extent_aliases(const std::vector<ExtentSlot>& slots,
                                             const std::filesystem::path& descriptor = {});

/// "extent 1 ("a.vmdk") and extent 2 ("b.vmdk") both use ... of file X": one sentence, lower case.
std::string describe_alias(const std::vector<ExtentSlot>& slots, const ExtentAlias& alias);

/// Throws FormatError naming descriptor and the first aliased pair, when there is one: a write
/// through one line would change what the other reads, so such a disk has no single content.
void refuse_extent_aliases(const std::vector<ExtentSlot>& slots, const std::string& descriptor,
                           const std::filesystem::path& descriptor_path = {});

}  // namespace vmdk::disk
