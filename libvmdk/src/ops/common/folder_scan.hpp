// Which descriptors in a folder name a file (DESIGN.md safety rules: nothing is removed or
// overwritten that another descriptor names). Text descriptors and descriptors embedded in sparse
// files are read cheaply (ops::peek_descriptor); files are compared by name and by device+inode.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "disk/path_confine.hpp"

namespace vmdk::ops {

/// How a file is compared: its device+inode when it exists, and its absolute normal name.
struct FileKey {
  std::optional<paths::FileId> id;
  std::filesystem::path name;
};
FileKey file_key(const std::filesystem::path& path);
bool same_key(const FileKey& a, const FileKey& b);

/// One descriptor found in a folder and what it names.
struct FolderDescriptor {
  std::filesystem::path path;                  ///< the descriptor (or sparse file holding one)
  std::vector<std::filesystem::path> extents;  ///< files its extent lines name, resolved in its folder
  std::optional<std::string> parent_hint;      ///< parentFileNameHint (deltas)
  FileKey key;                                 ///< of path
  std::vector<FileKey> extent_keys;            ///< of extents
};

/// Every descriptor among the regular files of folder, sorted by path; vmdkit's temporaries
/// (".NAME.vmdkit-...") are not disks and are left out. Cost is bounded: at most
/// kMaxFolderScan entries are looked at and at most 64 KiB of each is read; a larger folder is a
/// UsageError (vmdkit cannot prove which files are named). Throws IoError when it cannot be listed.
std::vector<FolderDescriptor> scan_folder_descriptors(const std::filesystem::path& folder);

inline constexpr std::size_t kMaxFolderScan = 100000;

/// True when a and b name the same file: the same device+inode, or the same absolute name.
bool same_entry(const std::filesystem::path& a, const std::filesystem::path& b);

/// The first descriptor of scan that names file as an extent, skipping descriptors that are the
/// same entry as one of except (the disk being replaced or removed itself).
std::optional<std::filesystem::path> named_by(const std::vector<FolderDescriptor>& scan,
                                              const std::filesystem::path& file,
                                              const std::vector<std::filesystem::path>& except);

}  // namespace vmdk::ops
