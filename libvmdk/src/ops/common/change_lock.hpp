// The locks of the operations that change several layers (DESIGN.md safety rules, locks):
// repair (every file of the chain) and consolidate (the layers it merges or deletes, ANCESTOR and
// the children it re-links). write and snapshot lock through chain::lock_chain directly.
#pragma once

#include <filesystem>

#include "io/lock.hpp"
#include "vmdk/consolidate.hpp"
#include "vmdk/disk.hpp"

namespace vmdk::ops {

/// Every file of path's chain, exclusive (shared when dry_run); a broken chain locks the layers
/// that open, a leaf that does not open is locked alone. Refuses (UsageError) a file with a
/// VMware lock folder unless dry_run. Throws LockError.
io::LockSet lock_for_repair(const std::filesystem::path& path, const OpenOptions& open, bool dry_run);

/// Exclusive on the layers from top down to ANCESTOR (options.into, default the base) and on the
/// descriptors of top's children, shared below ANCESTOR; when a journal of an interrupted run
/// names top, exclusive on every disk that journal names. Shared only for a dry run.
/// Throws LockError, or what opening the chain throws.
io::LockSet lock_for_consolidate(const std::filesystem::path& top, const ConsolidateOptions& options);

}  // namespace vmdk::ops
