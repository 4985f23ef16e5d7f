// Where a new disk's files go (DESIGN.md safety rules): an existing file is replaced only with
// --overwrite and never when it belongs to a chain with children or another disk; a multi-file
// disk appears atomically, its descriptor being the commit point. New extents are written under
// staging names `.DST.vmdkit-stageN.FILE` that no descriptor uses, a descriptor naming them is
// renamed over DST, the final names are made hard links of the staged files, and a descriptor
// naming the final files is renamed over DST: at every instant DST is wholly the old or the new disk.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "vmdk/descriptor.hpp"
#include "vmdk/disk_type.hpp"

namespace vmdk::ops {

struct OutputRules {
  bool overwrite = false;                   ///< existing files may be replaced (--overwrite)
  std::vector<std::filesystem::path> keep;  ///< never replaced nor removed (the source's own files)
  /// synced: the descriptors written here are fsynced before their renames and the folder after
  /// (--sync); page_cache: neither. The order of the renames is the same either way.
  Durability durability = Durability::page_cache;
};

class DiskOutput {
 public:
  /// descriptor: the file the user names; extents: the other files of a disk with a standalone
  /// descriptor, in descriptor order (empty for one-file outputs). First removes the staging
  /// files a killed run over descriptor left that no descriptor names. Throws UsageError when a
  /// file exists (without rules.overwrite), is one of rules.keep or a folder, when the existing
  /// disk at descriptor has a child or another descriptor names one of the files (naming it,
  /// even with overwrite); IoError when the folder cannot be listed.
  DiskOutput(std::filesystem::path descriptor, std::vector<std::filesystem::path> extents, OutputRules rules);
  ~DiskOutput();  ///< removes the staged files unless a descriptor names them
  DiskOutput(const DiskOutput&) = delete;
  DiskOutput& operator=(const DiskOutput&) = delete;

  /// True when existing files may be replaced (--overwrite).
  bool overwrite() const { return rules_.overwrite; }

  /// Where extent i is written until commit().
  const std::filesystem::path& staged(std::size_t i) const { return staged_.at(i); }

  /// Multi-file outputs: puts the staged extents and descriptor (whose extent lines name the final
  /// files by file name) in place as described above, then finish(). Throws IoError.
  void commit(const Descriptor& descriptor);

  /// After the new disk is in place: removes the old disk's extent files in DST's folder that the
  /// new disk does not use and no descriptor in the folder names, and stale staging files.
  void finish();

 private:
  void remove_stale_staging() const;
  void write_descriptor(const Descriptor& descriptor, bool replace) const;
  void place_final(std::size_t i) const;

  std::filesystem::path descriptor_;
  std::vector<std::filesystem::path> extents_;
  std::vector<std::filesystem::path> staged_;
  OutputRules rules_;
  std::vector<std::filesystem::path> old_extents_;  ///< what the disk at descriptor named before
  std::string stage_prefix_;                        ///< ".DST.vmdkit-stage"
  bool staged_named_ = false;                       ///< a descriptor in place names the staged files
  bool committed_ = false;
};

}  // namespace vmdk::ops
