// Which descriptor names a file as one of its extents: a split part or a flat extent opened on its
// own is refused with the name of the disk to open instead (vmdk-format.md 6.1).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>

namespace vmdk::disk {

struct ExtentOwner {
  std::filesystem::path descriptor;  ///< the text descriptor that names the file
  std::size_t extent_number = 0;     ///< 1-based line number among its extent lines
};

/// Looks through the text descriptors (*.vmdk, up to 1 MiB, regular files) in file's folder for
/// one whose extent line resolves to file (same device and inode). The first in name order wins.
/// Unreadable or damaged candidates are skipped. Throws nothing but std::bad_alloc.
std::optional<ExtentOwner> find_extent_owner(const std::filesystem::path& file);

}  // namespace vmdk::disk
