// vmdkit create (DESIGN.md "ops"): an empty disk of any type vmdkit writes. Every file is written
// under a temporary name and renamed when complete, the descriptor last.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vmdk/disk_type.hpp"

namespace vmdk {

struct CreateOptions : NewDiskOptions {
  std::uint64_t capacity = 0;  ///< bytes; a positive multiple of 512
  /// Replace existing files (never a disk with children or another disk's file).
  bool overwrite = false;
};

struct CreateReport {
  std::string path;
  std::string type;                ///< createType
  std::uint64_t capacity = 0;
  std::uint32_t cid = 0;
  std::vector<std::string> files;  ///< every file written, descriptor first
};

/// Creates an empty disk at path (existing files are a UsageError unless overwrite). Every file is
/// written under a temporary name and renamed when complete, the descriptor last; fsynced before
/// the rename only when options.durability is synced (--sync).
/// Throws UsageError (bad size, type raw, file exists), IoError.
CreateReport create(const std::filesystem::path& path, const CreateOptions& options);

}  // namespace vmdk
