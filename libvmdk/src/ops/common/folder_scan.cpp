// Descriptors of a folder and the files they name (see folder_scan.hpp).
#include "ops/common/folder_scan.hpp"

#include <algorithm>
#include <system_error>

#include "disk/path_confine.hpp"
#include "ops/common/children.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;

namespace {

// An extent line's file as Disk::open finds it: relative names in the descriptor's folder.
fs::path scanned_extent_path(const fs::path& folder, const std::string& file) {
  const std::string name = paths::normalize_separators(file);
  return paths::is_absolute_name(name) ? fs::path(name) : folder / name;
}

// vmdkit's own temporaries (".NAME.vmdkit-tmp...", staged extents, journals): a descriptor left
// there by a killed run is no disk anyone uses.
bool is_vmdkit_temporary(const std::string& name) {
  return !name.empty() && name[0] == '.' && name.find(".vmdkit-") != std::string::npos;
}

}  // namespace

FileKey file_key(const fs::path& path) { return {paths::file_id(path), paths::absolute_normal(path)}; }

bool same_key(const FileKey& a, const FileKey& b) { return (a.id && b.id && *a.id == *b.id) || a.name == b.name; }

bool same_entry(const fs::path& a, const fs::path& b) { return same_key(file_key(a), file_key(b)); }

std::vector<FolderDescriptor> scan_folder_descriptors(const fs::path& folder) {
  std::vector<FolderDescriptor> found;
  const fs::path where = folder.empty() ? fs::path(".") : folder;
  std::error_code error;
  std::size_t seen = 0;
  for (fs::directory_iterator it(where, error), end; !error && it != end; it.increment(error)) {
    if (++seen > kMaxFolderScan) {
      throw UsageError(where.string(), "holds more than " + std::to_string(kMaxFolderScan) +
                                           " entries; vmdkit cannot prove which files its descriptors name");
    }
    std::error_code status_error;
    if (!it->is_regular_file(status_error) || status_error) continue;
    if (is_vmdkit_temporary(it->path().filename().string())) continue;
    const fs::path path = folder / it->path().filename();
    std::optional<Descriptor> descriptor = peek_descriptor(path);
    if (!descriptor) continue;
    FolderDescriptor entry;
    entry.path = path;
    for (const ExtentLine& line : descriptor->extents()) {
      if (line.file.empty()) continue;
      entry.extents.push_back(scanned_extent_path(path.parent_path(), line.file));
      entry.extent_keys.push_back(file_key(entry.extents.back()));
    }
    entry.key = file_key(path);
    entry.parent_hint = descriptor->parent_file_name_hint();
    found.push_back(std::move(entry));
  }
  if (error) throw IoError(where.string(), "cannot list the folder: " + error.message());
  std::sort(found.begin(), found.end(),
            [](const FolderDescriptor& a, const FolderDescriptor& b) { return a.path < b.path; });
  return found;
}

std::optional<fs::path> named_by(const std::vector<FolderDescriptor>& scan, const fs::path& file,
                                 const std::vector<fs::path>& except) {
  // Keys computed once: a consolidate of a deep chain asks this for every file of every layer.
  std::vector<FileKey> skipped;
  for (const fs::path& p : except) skipped.push_back(file_key(p));
  const FileKey wanted = file_key(file);
  for (const FolderDescriptor& entry : scan) {
    if (std::any_of(skipped.begin(), skipped.end(), [&](const FileKey& k) { return same_key(k, entry.key); })) {
      continue;
    }
    for (const FileKey& extent : entry.extent_keys) {
      if (same_key(extent, wanted)) return entry.path;
    }
  }
  return std::nullopt;
}

}  // namespace vmdk::ops
