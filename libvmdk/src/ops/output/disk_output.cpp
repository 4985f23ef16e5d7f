// New disk files put in place without replacing what vmdkit cannot own (see disk_output.hpp).
#include "ops/output/disk_output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <system_error>

#include "disk/path_confine.hpp"
#include "ops/common/children.hpp"
#include "ops/common/folder_scan.hpp"
#include "ops/common/temp_file.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;

namespace {

bool is_one_of(const fs::path& file, const std::vector<fs::path>& set) {
  return std::any_of(set.begin(), set.end(), [&](const fs::path& p) { return same_entry(p, file); });
}

// Names of folder's entries that start with prefix.
std::vector<std::string> entries_with_prefix(const fs::path& folder, const std::string& prefix) {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) == 0) names.push_back(std::move(name));
  }
  if (error) throw IoError(folder.string(), "cannot list the folder: " + error.message());
  std::sort(names.begin(), names.end());
  return names;
}

// The existing disk at descriptor must not be a layer others depend on, nor its files another
// disk's: --overwrite never breaks a chain.
void refuse_shared(const fs::path& descriptor, const std::vector<fs::path>& existing,
                   const std::vector<FolderDescriptor>& scan) {
  for (const fs::path& child : find_children(descriptor)) {
    throw UsageError(descriptor.string(), "is a layer of a chain: " + child.string() +
                                              " is its child; --overwrite never replaces a disk that "
                                              "others depend on (consolidate or remove that child first)");
  }
  for (const fs::path& file : existing) {
    if (std::optional<fs::path> owner = named_by(scan, file, {descriptor})) {
      throw UsageError(file.string(), "is named by " + owner->string() +
                                          ", another disk's descriptor; --overwrite never replaces "
                                          "another disk's file (choose another destination)");
    }
  }
}

}  // namespace

DiskOutput::DiskOutput(fs::path descriptor, std::vector<fs::path> extents, OutputRules rules)
    : descriptor_(std::move(descriptor)), extents_(std::move(extents)), rules_(std::move(rules)) {
  stage_prefix_ = "." + descriptor_.filename().string() + ".vmdkit-stage";
  remove_stale_staging();

  std::vector<fs::path> wanted{descriptor_};
  wanted.insert(wanted.end(), extents_.begin(), extents_.end());
  std::vector<fs::path> existing;
  for (const fs::path& file : wanted) {
    if (!entry_exists(file)) continue;
    if (is_one_of(file, rules_.keep)) {
      throw UsageError(file.string(), "is a file of the disk being read; choose another destination");
    }
    std::error_code error;
    if (fs::is_directory(file, error))
      throw UsageError(file.string(), "is a folder; cannot replace it with a file");
    if (!rules_.overwrite) {
      throw UsageError(file.string(),
                       "already exists; vmdkit never overwrites a disk file unless --overwrite");
    }
    existing.push_back(file);
  }
  if (!existing.empty()) {
    const std::vector<FolderDescriptor> scan = scan_folder_descriptors(descriptor_.parent_path());
    refuse_shared(descriptor_, existing, scan);
    for (const FolderDescriptor& entry : scan) {
      if (same_entry(entry.path, descriptor_)) old_extents_ = entry.extents;
    }
  }

  // A staging generation no file uses yet (a killed run's staged files may still be DST's extents).
  const fs::path folder = paths::folder_of(descriptor_);
  const std::vector<std::string> taken = entries_with_prefix(folder, stage_prefix_);
  std::size_t generation = 1;
  auto used = [&](std::size_t g) {
    const std::string p = stage_prefix_ + std::to_string(g) + ".";
    return std::any_of(taken.begin(), taken.end(),
                       [&](const std::string& n) { return n.compare(0, p.size(), p) == 0; });
  };
  while (used(generation)) ++generation;
  for (const fs::path& extent : extents_) {
    staged_.push_back(descriptor_.parent_path() /
                      (stage_prefix_ + std::to_string(generation) + "." + extent.filename().string()));
  }
}

DiskOutput::~DiskOutput() {
  if (committed_ || staged_named_) return;
  for (const fs::path& file : staged_) {
    std::error_code error;
    fs::remove(file, error);
  }
}

void DiskOutput::remove_stale_staging() const {
  const fs::path folder = paths::folder_of(descriptor_);
  const std::vector<std::string> names = entries_with_prefix(folder, stage_prefix_);
  if (names.empty()) return;
  const std::vector<FolderDescriptor> scan = scan_folder_descriptors(folder);
  for (const std::string& name : names) {
    const fs::path file = descriptor_.parent_path() / name;
    if (named_by(scan, file, {})) continue;  // the extent of a disk a killed run put in place
    std::error_code error;
    fs::remove(file, error);
  }
}

void DiskOutput::write_descriptor(const Descriptor& descriptor, bool replace) const {
  const std::string text = descriptor.print();
  TempFile temp(descriptor_);
  {
    std::unique_ptr<File> file = File::open(temp.temp(), File::Mode::create_truncate);
    file->write_at(
        0, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    if (rules_.durability == Durability::synced) file->flush();
  }
  temp.rename_into_place(replace);
  sync_folder(descriptor_.parent_path(), rules_.durability);
}

// Makes extent i's final name a hard link of its staged file; the staged name stays valid until
// the final descriptor is in place. Without hard links (some file systems) the staged file is
// renamed instead: the one step that is not atomic there.
void DiskOutput::place_final(std::size_t i) const {
  const fs::path& staged = staged_[i];
  const fs::path& final_path = extents_[i];
  fs::path link = staged;
  link += ".link";
  std::error_code error;
  fs::remove(link, error);
  if (::link(staged.c_str(), link.c_str()) == 0) {
    fs::rename(link, final_path, error);
    if (error) throw IoError(final_path.string(), "cannot put the new extent in place: " + error.message());
    return;
  }
  if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != EXDEV) {
    throw IoError(final_path.string(), std::string("cannot link the new extent: ") + std::strerror(errno));
  }
  fs::rename(staged, final_path, error);
  if (error) throw IoError(final_path.string(), "cannot put the new extent in place: " + error.message());
}

void DiskOutput::commit(const Descriptor& descriptor) {
  // Also for a new disk: a kill then leaves either nothing under the final names but staged files
  // the next run removes, or a whole disk.
  {
    // 1. DST becomes the new disk through the staged names (the commit point).
    std::vector<ExtentLine> lines = descriptor.extents();
    for (ExtentLine& line : lines) {
      for (std::size_t i = 0; i < extents_.size(); ++i) {
        if (line.file == extents_[i].filename().string()) line.file = staged_[i].filename().string();
      }
    }
    Descriptor staged_descriptor = descriptor;
    staged_descriptor.set_extents(std::move(lines));
    write_descriptor(staged_descriptor, rules_.overwrite);  // never over a DST that appeared meanwhile
    staged_named_ = true;
    // 2. The final names, each a second name of a staged file; 3. DST names them.
    for (std::size_t i = 0; i < extents_.size(); ++i) place_final(i);
    sync_folder(descriptor_.parent_path(), rules_.durability);
    write_descriptor(descriptor, true);  // over our own step-1 descriptor
    for (const fs::path& file : staged_) {
      std::error_code error;
      fs::remove(file, error);
    }
  }
  committed_ = true;
  finish();
}

void DiskOutput::finish() {
  committed_ = true;
  remove_stale_staging();
  if (old_extents_.empty()) return;  // a new disk: nothing of an old one to remove
  const std::vector<FolderDescriptor> scan = scan_folder_descriptors(descriptor_.parent_path());
  const fs::path folder = paths::absolute_normal(descriptor_).parent_path();
  for (const fs::path& old : old_extents_) {
    if (same_entry(old, descriptor_) || is_one_of(old, extents_) || is_one_of(old, rules_.keep)) continue;
    if (paths::absolute_normal(old).parent_path() != folder) continue;  // never outside DST's folder
    std::error_code error;
    if (!fs::is_regular_file(fs::symlink_status(old, error)) || error) continue;
    if (named_by(scan, old, {})) continue;  // another disk's file
    fs::remove(old, error);
  }
}

}  // namespace vmdk::ops
