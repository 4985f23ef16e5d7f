// vmdkit snapshot: a new delta link `<base>-NNNNNN.vmdk` on top of a disk (vmdk-format.md 2.11,
// 4.2, 4.3, 5.1, 6.6): monolithicSparse for hosted parents; for ESXi ones seSparse (descriptor +
// -sesparse.vmdk) or vmfsSparse (descriptor + -delta.vmdk COWD). The parent is only read; a parent that has a
// child or a lock is refused unless forced.
#include <algorithm>

#include "chain/chain_lock.hpp"
#include "ops/common/children.hpp"
#include "ops/output/new_disk.hpp"
#include "vmdk/disk_type.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace fs = std::filesystem;

namespace {

// An ESXi link has VMFS, VMFSSPARSE or SESPARSE extents (4.1-4.3); its deltas follow ESXi.
bool is_esxi_disk(const Disk& disk) {
  const auto& lines = disk.descriptor().extents();
  return !lines.empty() && std::all_of(lines.begin(), lines.end(), [](const ExtentLine& line) {
    return line.type == ExtentType::vmfs || line.type == ExtentType::vmfssparse ||
           line.type == ExtentType::sesparse;
  });
}

bool has_cowd_extents(const Disk& disk) {
  const auto& lines = disk.descriptor().extents();
  return std::any_of(lines.begin(), lines.end(),
                     [](const ExtentLine& line) { return line.type == ExtentType::vmfssparse; });
}

DiskType delta_type(const fs::path& parent, const Disk& parent_disk, const SnapshotOptions& options) {
  DeltaFormat format = options.delta_format;
  if (format == DeltaFormat::automatic) {
    // ESXi 6.7 and later take seSparse snapshots; a host on VMFS 5 takes vmfsSparse ones, so a
    // chain that already has them keeps that kind. Asking for zeroed grains or a grain size asks
    // for a feature only hosted sparse deltas have, so those get one.
    const bool sparse_options = options.zeroed_grains || options.grain_size.has_value();
    if (!is_esxi_disk(parent_disk) || sparse_options) {
      format = DeltaFormat::sparse;
    } else {
      format = has_cowd_extents(parent_disk) ? DeltaFormat::vmfs_sparse : DeltaFormat::se_sparse;
    }
  }
  switch (format) {
    case DeltaFormat::se_sparse:
      if (options.zeroed_grains) {
        throw UsageError(
            parent.string(),
            "seSparse deltas always have zero-grain entries; --zeroed-grains is for sparse deltas");
      }
      if (options.grain_size && *options.grain_size != 4096) {
        throw UsageError(parent.string(), "seSparse deltas use 4 KiB grains like ESXi");
      }
      return DiskType::se_sparse;
    case DeltaFormat::vmfs_sparse:
      if (options.zeroed_grains) {
        throw UsageError(parent.string(),
                         "vmfsSparse deltas have no zeroed-grain entries (--zeroed-grains is for "
                         "sparse deltas)");
      }
      if (options.grain_size && *options.grain_size != 512) {
        throw UsageError(parent.string(), "vmfsSparse deltas use 1-sector (512-byte) grains like ESXi");
      }
      return DiskType::vmfs_sparse;
    default:
      return DiskType::monolithic_sparse;
  }
}

}  // namespace

SnapshotReport snapshot(const fs::path& parent, const SnapshotOptions& options) {
  ChainOptions chain_options;
  chain_options.open = options.open;
  chain_options.for_writing = true;  // a delta over layers that share a file would write into them
  // Exclusive on the parent (after the snapshot, writes go to the delta), shared below.
  // A broken chain below the parent would give a delta that reads wrong: refuse it (ChainError).
  chain::LockedChain locked = chain::lock_chain(parent, chain_options, 1);
  const std::unique_ptr<Chain>& chain = locked.chain;
  const Disk& parent_disk = *chain->layers().front().disk;
  const std::optional<std::uint32_t> parent_cid = parent_disk.descriptor().cid();
  if (!parent_cid) throw FormatError(parent.string(), "descriptor has no CID, so no delta can link to it");
  const DiskType type = delta_type(parent, parent_disk, options);
  // One more layer would make a chain that no command (not even consolidate) can open.
  if (chain->layers().size() >= chain_options.max_depth) {
    throw UsageError(parent.string(),
                     "chain already has " + std::to_string(chain->layers().size()) +
                         " layers, the most vmdkit reads; a snapshot would make it unreadable: "
                         "consolidate it first (vmdkit consolidate " +
                         parent.string() + ")");
  }

  if (!options.force) {
    const std::vector<fs::path> children = find_children(parent, options.open);
    if (!children.empty()) {
      std::string names;
      for (const fs::path& child : children) names += (names.empty() ? "" : ", ") + child.string();
      throw UsageError(parent.string(),
                       "already has a child (" + names +
                           "); a second delta on the same parent forks the chain (force to take it anyway)");
    }
    if (std::optional<fs::path> lock = find_lock(parent)) {
      throw UsageError(parent.string(), "lock folder " + lock->string() +
                                            " marks the disk in use by a VMware product; force to take the "
                                            "snapshot anyway");
    }
  }

  const fs::path path = ops::next_snapshot_path(parent);
  NewDiskOptions disk_options;
  disk_options.type = type;
  disk_options.zeroed_grains = options.zeroed_grains;
  if (options.grain_size && type == DiskType::monolithic_sparse)
    disk_options.grain_size = *options.grain_size;
  disk_options.seed = options.seed;
  disk_options.cid = options.cid;
  // The delta becomes the chain's top layer, a change to the chain: durable before its rename
  // whatever convert and create do.
  disk_options.durability = Durability::synced;
  // The delta lies in the parent's folder, so the relative hint is the parent's file name.
  ops::ParentLink link;
  link.parent_cid = *parent_cid;
  link.hint = parent.filename().string();

  ops::NewDiskWriter writer(ops::plan_new_disk(path, chain->capacity(), disk_options, link));
  SnapshotReport report;
  report.path = path.string();
  report.parent = parent.string();
  report.cid = writer.plan().cid;
  report.parent_cid = *parent_cid;
  report.parent_hint = link.hint;
  report.type = writer.plan().descriptor.create_type();
  report.files = writer.commit();
  return report;
}

}  // namespace vmdk
