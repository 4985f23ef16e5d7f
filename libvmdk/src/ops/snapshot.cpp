// vmdkit snapshot: a new monolithicSparse delta link `<base>-NNNNNN.vmdk` on top of a disk
// (vmdk-format.md 2.11, 6.6): parentCID = the parent's CID, parentFileNameHint relative. The parent
// is only read; a parent that has a child or a lock is refused unless forced.
#include "ops/children.hpp"
#include "ops/new_disk.hpp"
#include "vmdk/create.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace fs = std::filesystem;

SnapshotReport snapshot(const fs::path& parent, const SnapshotOptions& options) {
  ChainOptions chain_options;
  chain_options.open = options.open;
  // A broken chain below the parent would give a delta that reads wrong: refuse it (ChainError).
  std::unique_ptr<Chain> chain = Chain::open(parent, chain_options);
  const Disk& parent_disk = *chain->layers().front().disk;
  const std::optional<std::uint32_t> parent_cid = parent_disk.descriptor().cid();
  if (!parent_cid) throw FormatError(parent.string(), "descriptor has no CID, so no delta can link to it");

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
  disk_options.type = DiskType::monolithic_sparse;
  disk_options.zeroed_grains = options.zeroed_grains;
  if (options.grain_size) disk_options.grain_size = *options.grain_size;
  disk_options.seed = options.seed;
  disk_options.cid = options.cid;
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
  writer.commit();
  return report;
}

}  // namespace vmdk
