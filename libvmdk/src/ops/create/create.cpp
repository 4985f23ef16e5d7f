// vmdkit create: an empty disk of any type vmdkit writes (vmdk-format.md 0.5, 1.5), planned by
// plan_new_disk and put in place by NewDiskWriter (temporary names, fsync with --sync, rename, descriptor last).
#include "vmdk/create.hpp"
#include "vmdk/disk_type.hpp"

#include "ops/output/new_disk.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

CreateReport create(const std::filesystem::path& path, const CreateOptions& options) {
  if (options.type == DiskType::raw) {
    throw UsageError(path.string(), "create makes VMDK disks; raw is not a VMDK type (use convert --to raw)");
  }
  if (options.type == DiskType::vmfs_sparse || options.type == DiskType::se_sparse) {
    const std::string name(to_string(options.type));
    throw UsageError(path.string(),
                     "a " + name + " delta needs a parent: use vmdkit snapshot --delta-format " + name);
  }
  // No data to write: the writer's extents stay empty (sparse: no grains; flat: holes).
  ops::OutputRules rules;
  rules.overwrite = options.overwrite;
  ops::NewDiskWriter writer(ops::plan_new_disk(path, options.capacity, options), rules);
  CreateReport report;
  report.path = path.string();
  // The createType written: a vmfsThin disk says "vmfs" (vmdk-format.md 4.1).
  report.type = writer.plan().descriptor.create_type();
  report.capacity = options.capacity;
  report.cid = writer.plan().cid;
  report.files = writer.commit();
  return report;
}

}  // namespace vmdk
