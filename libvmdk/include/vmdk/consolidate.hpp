// consolidate (DESIGN.md "ops", vmdk-format.md 6.4): the content of TOP, read through its chain,
// written into an ANCESTOR; the layers in between removed; TOP's children re-linked to ANCESTOR.
// Crash-safe through a journal beside ANCESTOR: re-running finishes an interrupted run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vmdk/chain.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

struct ConsolidateOptions {
  OpenOptions open;
  /// The layer that receives the data (default: the chain's base). Must be below TOP in its chain.
  std::optional<std::filesystem::path> into;
  /// Plan only: nothing is written.
  bool dry_run = false;
  /// Go on although a lock (.lck folder) marks a file in use. Never overrides a sibling child.
  bool force = false;
  std::optional<std::uint64_t> seed;  ///< for ANCESTOR's new CID
  ProgressCallback progress;
  /// Re-link a child of TOP whose parentCID already differs from TOP's CID (a broken link, as
  /// repair --accept-cid-mismatch accepts it); without it such a child is refused.
  bool accept_cid_mismatch = false;
};

/// A file of a merged layer that is not removed because another descriptor names it.
struct KeptFile {
  std::string path;
  std::string named_by;  ///< the descriptor that names it
};

/// A disk whose parent link is rewritten to point at ANCESTOR.
struct Relink {
  std::string path;
  std::string old_hint;
  std::string new_hint;             ///< relative to the child's folder
  std::uint32_t old_parent_cid = 0;
  std::uint32_t new_parent_cid = 0;  ///< ANCESTOR's new CID
};

struct ConsolidatePlan {
  std::string top;
  std::string ancestor;
  std::vector<std::string> merged;   ///< layers whose data moves into ANCESTOR, TOP first
  std::vector<std::string> removed;  ///< every file deleted at the end (descriptors and extents)
  std::vector<KeptFile> kept;        ///< files of merged layers kept: another descriptor names them
  std::vector<Relink> relinks;       ///< TOP's children
  std::uint64_t grains = 0;          ///< ANCESTOR grains (or 64 KiB blocks of flat extents) written
  std::uint64_t bytes = 0;           ///< bytes written into ANCESTOR
  std::uint64_t zero_grains = 0;     ///< of which zero grains (entries or zero bytes)
  std::uint64_t extra_space = 0;     ///< bytes ANCESTOR's files grow by (appended grains)
  std::uint64_t free_space = 0;      ///< bytes free on ANCESTOR's file system
  std::uint32_t ancestor_cid = 0;     ///< ANCESTOR's CID now
  std::uint32_t new_ancestor_cid = 0; ///< its CID after the merge
  bool resumed = false;              ///< finishing an interrupted run found in a journal
  std::string journal;               ///< the journal's path
};

struct ConsolidateReport {
  ConsolidatePlan plan;
  bool done = false;       ///< false for a dry run
  std::string result;      ///< the disk that now holds the data (ANCESTOR, or TOP for a dry run)
};

/// Plans and (unless dry_run) performs the merge. Before anything is written the plan is checked:
/// a layer in the merge (or ANCESTOR) that has a child outside it (UsageError naming that child,
/// even with force), a lock (unless force), not enough free space, a streamOptimized or read-only
/// ANCESTOR, a broken chain. When a journal of an interrupted run involves `top` (as TOP, ANCESTOR,
/// a merged layer or a re-linked child), that run is finished instead (plan.resumed).
/// Throws UsageError, ChainError, UnsupportedError, FormatError, IoError.
ConsolidateReport consolidate(const std::filesystem::path& top, const ConsolidateOptions& options = {});

}  // namespace vmdk
