// repair (DESIGN.md "ops", vmdk-format.md 6.5): fixes what check finds, says what it changed and
// which virtual ranges could not be recovered, and saves every byte it overwrites for --undo.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vmdk/check.hpp"
#include "vmdk/disk_type.hpp"

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
  /// Write every kept grain into this folder (created when missing; existing files are never
  /// replaced). A dry run only names the files it would write.
  std::optional<std::filesystem::path> salvage;
  /// The salvaged files are new files outside the chain: fsynced before their renames (and the
  /// folder after) only when synced (--sync). Repair's own changes keep their ordered fsyncs.
  Durability salvage_durability = Durability::page_cache;
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

/// Bytes of an extent file that no table references but that repair cannot prove to be garbage
/// (a table or directory entry of the layer was damaged or cleared, or an earlier repair kept
/// them): they stay where they are, and `--salvage DIR` writes them out.
struct KeptGrain {
  std::string file;  ///< the extent file holding the bytes
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string disk;  ///< the layer (its descriptor path)
  /// Virtual bytes of disk the grain may have belonged to (an entry cleared by repair named it).
  std::optional<std::uint64_t> virtual_offset;
  std::uint64_t virtual_length = 0;
  std::string reason;
  std::vector<std::string> salvaged;  ///< files --salvage wrote (or would write) from these bytes
};

struct RepairReport {
  std::string path;
  bool dry_run = false;
  std::vector<RepairAction> actions;
  std::vector<LostRange> lost;
  std::vector<KeptGrain> kept;      ///< unreferenced bytes repair left in place (not reclaimed)
  std::string salvage_dir;          ///< --salvage DIR ("" without it)
  std::vector<Finding> unrepaired;  ///< findings repair left alone (and why, in their message)
  std::string undo_log;             ///< the log `repair --undo` applies ("" when nothing was written)
  std::uint64_t undo_bytes = 0;     ///< bytes saved in it
  CheckReport before;
  std::optional<CheckReport> after;  ///< check after the repair (absent for a dry run)

  /// The exit status of `vmdkit repair`: 2 when findings remain (after the repair; for a dry run,
  /// the findings it would leave), else 4 when ranges are lost, else 0. Leaks that are kept grains
  /// do not count as findings left.
  int exit_status() const;
};

/// Repairs path's chain. Throws vmdk::Error when path cannot be opened at all or a write fails.
RepairReport repair(const std::filesystem::path& path, const RepairOptions& options = {});

struct UndoReport {
  std::string log;                 ///< the log applied (and removed)
  bool state_verified = false;     ///< the disk was checked to be as repair left it (false: --force)
  std::vector<std::string> files;  ///< files written back
  std::uint64_t bytes = 0;
  bool dry_run = false;
};

/// Applies the newest undo log beside disk: every saved range written back, sizes restored, files
/// fsynced, the log removed. The log's record of the state repair left (sizes, a digest of every
/// byte range undo overwrites, the layers' CIDs) must match the disk: otherwise UsageError naming
/// the file and the range that changed. A log without that record (older vmdkit) is refused unless
/// force. Throws UsageError when there is none, FormatError, IoError, LockError.
struct UndoOptions {
  bool dry_run = false;
  bool force = false;  ///< apply a log that records no state (older vmdkit)
  OpenOptions open;    ///< its lock.wait_seconds: how long to wait for another program's lock
};
UndoReport undo_repair(const std::filesystem::path& disk, const UndoOptions& options = {});

}  // namespace vmdk
