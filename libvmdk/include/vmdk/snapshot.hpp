// vmdkit snapshot (DESIGN.md "ops"): a new delta on top of a disk, and the questions asked before
// one is taken: which disks already name a disk as their parent, and whether VMware holds it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vmdk/disk.hpp"
#include "vmdk/disk_type.hpp"

namespace vmdk {

struct SnapshotOptions {
  OpenOptions open;
  bool force = false;            ///< take it even though the parent already has a child
  bool zeroed_grains = false;    ///< the delta supports zeroed-grain entries (version 2)
  std::optional<std::uint64_t> grain_size;  ///< bytes; default 64 KiB
  std::optional<std::uint64_t> seed;
  std::optional<std::uint32_t> cid;  ///< fixed CID for the new delta
  /// The delta's kind; automatic follows the parent's family (see DeltaFormat).
  DeltaFormat delta_format = DeltaFormat::automatic;
};

struct SnapshotReport {
  std::string path;    ///< the new delta
  std::string parent;  ///< the disk it was taken of
  std::uint32_t cid = 0;
  std::uint32_t parent_cid = 0;
  std::string parent_hint;         ///< parentFileNameHint written (relative)
  std::string type;                ///< createType of the delta: "monolithicSparse", "vmfsSparse" or "seSparse"
  std::vector<std::string> files;  ///< every file written, descriptor first
};

/// Creates `<base>-00000N.vmdk` (first free N; base is the parent's name without an -00000N
/// suffix) beside the parent: a monolithicSparse delta, a vmfsSparse one (descriptor plus
/// `<base>-00000N-delta.vmdk`, COWD with 1-sector grains, vmdk-format.md 4.2, 5.1) or a seSparse
/// one (descriptor plus `<base>-00000N-sesparse.vmdk`, 4 KiB grains, 5.2), of the same capacity,
/// parentCID = the parent's CID, parentFileNameHint relative. Refuses a parent that has a child
/// (naming it) unless force, and a parent whose chain does not open. Throws UsageError,
/// ChainError, IoError.
SnapshotReport snapshot(const std::filesystem::path& parent, const SnapshotOptions& options = {});


/// Disks in disk's folder whose parent (by parentFileNameHint, resolved like Chain::open does) is
/// disk. Files that are not VMDK descriptors or sparse disks are skipped silently.
std::vector<std::filesystem::path> find_children(const std::filesystem::path& disk, const OpenOptions& open = {});

/// The lock VMware holds on a disk in use (`<file>.lck` folder), or nullopt.
std::optional<std::filesystem::path> find_lock(const std::filesystem::path& disk);

}  // namespace vmdk
