// repair (DESIGN.md "ops", vmdk-format.md 6.5): fixes what check finds, says what it changed and
// which virtual ranges could not be recovered, and saves every byte it overwrites for --undo.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vmdk/check.hpp"

namespace vmdk {

struct RepairOptions {
  OpenOptions open;
  bool dry_run = false;  ///< plan only: nothing is written, no undo log
  /// The parent of a delta whose parent is missing (instead of searching by CID).
  std::optional<std::filesystem::path> parent;
  /// More folders to search for a missing parent (the delta's own folder is always searched).
  std::vector<std::filesystem::path> search;
  /// The user asserts the parent is the right one: a CID mismatch is fixed by setting parentCID.
  bool accept_cid_mismatch = false;
  ProgressCallback progress;
};

/// One change repair made (or would make, for a dry run).
struct RepairAction {
  std::string code;  ///< the finding code it fixes ("gd_entry_past_eof", "parent_missing", ...)
  std::string file;  ///< the file changed
  std::optional<std::uint64_t> offset;
  std::string message;
};

/// Virtual bytes of a layer that no longer hold what they held: a delta's range now reads from its
/// parent, a base's reads zeros.
struct LostRange {
  std::string disk;  ///< the layer (its descriptor path)
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string reason;
};

struct RepairReport {
  std::string path;
  bool dry_run = false;
  std::vector<RepairAction> actions;
  std::vector<LostRange> lost;
  std::vector<Finding> unrepaired;  ///< findings repair left alone (and why, in their message)
  std::string undo_log;             ///< the log `repair --undo` applies ("" when nothing was written)
  std::uint64_t undo_bytes = 0;     ///< bytes saved in it
  CheckReport before;
  std::optional<CheckReport> after;  ///< check after the repair (absent for a dry run)
};

/// Repairs path's chain. Throws vmdk::Error when path cannot be opened at all or a write fails.
RepairReport repair(const std::filesystem::path& path, const RepairOptions& options = {});

struct UndoReport {
  std::string log;                 ///< the log applied (and removed)
  std::vector<std::string> files;  ///< files written back
  std::uint64_t bytes = 0;
  bool dry_run = false;
};

/// Applies the newest undo log beside disk: every saved range written back, sizes restored, files
/// fsynced, the log removed. Throws UsageError when there is none, FormatError, IoError.
UndoReport undo_repair(const std::filesystem::path& disk, bool dry_run = false);

}  // namespace vmdk
