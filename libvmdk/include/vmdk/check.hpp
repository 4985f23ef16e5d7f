// check (DESIGN.md "ops"): every descriptor, header, grain directory (both copies), grain table
// entry and link of a chain, reported as findings. Read-only: no file is changed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "vmdk/chain.hpp"
#include "vmdk/finding.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

struct CheckOptions {
  OpenOptions open;  ///< allow_missing_extents and allow_damaged_extents are always set by check()
  ProgressCallback progress;  ///< bytes of grain tables scanned
};

struct CheckReport {
  std::string path;
  std::vector<std::string> files;  ///< every file looked at, leaf first
  std::vector<Finding> findings;   ///< in chain order, then file order
  std::size_t corruptions = 0;     ///< findings of severity corruption
  std::size_t leaks = 0;           ///< findings of severity leak
  std::size_t warnings = 0;        ///< findings of severity warning

  /// The exit status of `vmdkit check`: 2 corruption, 3 only leaks, else 0.
  int exit_status() const { return corruptions != 0 ? 2 : leaks != 0 ? 3 : 0; }
};

/// Checks path's whole chain. Damage is reported as findings, never thrown; throws vmdk::Error only
/// when path itself cannot be opened as a file (IoError) or for a usage error.
CheckReport check(const std::filesystem::path& path, const CheckOptions& options = {});

}  // namespace vmdk
