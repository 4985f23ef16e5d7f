// Finding disks in folders by CID and capacity, for parents that moved or lost their descriptor
// (vmdk-format.md 6.2 candidate 5, 6.5): a scan that opens every disk-like .vmdk and never throws
// for one bad file. Extent files (5.1 name patterns) are not disks and are left out.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vmdk/disk.hpp"

namespace vmdk::ops {

/// One disk found in a folder, as Disk::open with allow_missing_extents (and damaged) reads it.
struct ParentCandidate {
  std::filesystem::path path;  ///< folder / file name, spelled like the folder was given
  std::optional<std::uint32_t> cid;
  std::uint64_t capacity = 0;  ///< bytes
  std::uint32_t parent_cid = kNoParentCid;
  std::optional<std::string> parent_hint;  ///< parentFileNameHint as written
  bool complete = false;                   ///< every extent opened
};

/// A .vmdk file of a scanned folder that is not a candidate, and why ("extent file name",
/// "bare sparse extent without a descriptor", or the error text of Disk::open).
struct SkippedFile {
  std::filesystem::path path;
  std::string reason;
};

struct DiskScan {
  std::vector<ParentCandidate> disks;  ///< sorted by path
  std::vector<SkippedFile> skipped;    ///< sorted by path
};

/// What a candidate must match; unset members match anything.
struct DiskFilter {
  std::optional<std::uint32_t> cid;
  std::optional<std::uint64_t> capacity;  ///< bytes
};

/// True for names of extent files rather than disks (vmdk-format.md 5.1): a stem ending in -flat,
/// -sNNN, -fNNN, -delta, -sesparse, -ctk, -rdm, -rdmp or -pt, and our temporaries (".NAME.vmdkit-tmp").
bool is_extent_file_name(const std::filesystem::path& file);

/// Scans folders (not recursively; a folder given twice is scanned once) for .vmdk files that are
/// disks: text descriptors and sparse or stream files with an embedded descriptor. Each is opened
/// with allow_missing_extents and allow_damaged_extents (so a disk whose extents are missing or
/// broken still yields its CID) and kept when it matches filter. Unreadable files and folders are
/// recorded in skipped, never thrown.
DiskScan scan_disks(const std::vector<std::filesystem::path>& folders, const DiskFilter& filter = {},
                    const OpenOptions& open = {});

/// The disks of folders whose CID is cid (and whose capacity is capacity, when given).
std::vector<ParentCandidate> find_disks_by_cid(const std::vector<std::filesystem::path>& folders,
                                               std::uint32_t cid,
                                               std::optional<std::uint64_t> capacity = std::nullopt,
                                               const OpenOptions& open = {});

/// True when a and b name one file: the same inode when both exist, else the same absolute path
/// once the existing part of each is resolved (so a file about to be written compares too).
bool same_file_location(const std::filesystem::path& a, const std::filesystem::path& b);

/// True when a parentFileNameHint written in a descriptor of child_folder names target, resolved as
/// Chain::open resolves it (relative to the folder; an absolute hint also by its last component).
/// target need not exist. ".." components count only with allow_outside.
bool hint_names(const std::string& hint, const std::filesystem::path& child_folder,
                const std::filesystem::path& target, bool allow_outside = false);

}  // namespace vmdk::ops
