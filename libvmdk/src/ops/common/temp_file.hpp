// Files written under a temporary name beside their destination and renamed into place when
// complete (DESIGN.md safety rules): a kill never leaves a partial file under the final name.
#pragma once

#include <filesystem>

#include "vmdk/disk_type.hpp"

namespace vmdk::ops {

class TempFile {
 public:
  /// Reserves ".NAME.PID-RANDOM.vmdkit-tmp" beside destination: unique per process and call, so two
  /// commands never write one temporary; temporaries of this name whose process is gone (a killed
  /// run) are removed, and could not block anyway.
  explicit TempFile(std::filesystem::path destination);
  ~TempFile();  ///< removes the temporary unless renamed
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::filesystem::path& temp() const { return temp_; }
  const std::filesystem::path& destination() const { return destination_; }
  /// Renames the temporary to the destination. With replace false an existing destination is
  /// never replaced, even one that appeared while this command ran (another command writing the
  /// same name): UsageError then. Throws IoError.
  void rename_into_place(bool replace = true);

 private:
  void rename_no_replace();
  std::filesystem::path destination_;
  std::filesystem::path temp_;
  bool renamed_ = false;
};

/// fsyncs a folder so that renames in it are durable (best effort: errors are ignored).
void sync_folder(const std::filesystem::path& folder);
/// The same for a new file's folder after its rename, only with Durability::synced (--sync).
void sync_folder(const std::filesystem::path& folder, Durability durability);

/// True when path names an entry of any kind: a file, a folder, a dangling symlink (which a
/// rename onto the name would replace too). An unreadable status counts as absent.
bool entry_exists(const std::filesystem::path& path);

/// Throws UsageError when destination exists (a file, a folder, a dangling symlink).
void refuse_existing(const std::filesystem::path& destination);

}  // namespace vmdk::ops
