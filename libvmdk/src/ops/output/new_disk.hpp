// A new disk of any type vmdkit writes: its files (NAME-flat.vmdk, NAME-s001.vmdk...), its
// descriptor (vmdk-format.md 0.5, 1.3-1.8), and writers that fill its extents front to back and
// put the files in place only when complete (temporary names, fsync with --sync, rename, descriptor
// last).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "extent/extent_writer.hpp"
#include "ops/output/disk_output.hpp"
#include "descriptor/identity.hpp"
#include "vmdk/disk_type.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops {

/// The link of a new delta to its parent.
struct ParentLink {
  std::uint32_t parent_cid = kNoParentCid;
  std::string hint;  ///< parentFileNameHint, relative to the delta's folder
};

struct NewDiskFile {
  std::filesystem::path path;  ///< final path
  std::uint64_t start = 0;     ///< first virtual byte covered
  std::uint64_t size = 0;      ///< virtual bytes covered (0 for a standalone descriptor)
  bool descriptor_only = false;  ///< the standalone descriptor file
};

struct NewDiskPlan {
  std::filesystem::path path;  ///< the .vmdk the user names
  std::uint64_t capacity = 0;
  NewDiskOptions options;
  std::optional<ParentLink> parent;
  std::uint32_t cid = 0;
  Descriptor descriptor;
  /// Extent files in disk order; for standalone-descriptor types the descriptor file comes first.
  std::vector<NewDiskFile> files;
};

/// Plans a disk: names, extent sizes (split parts of 2047 MiB like VMware), and the descriptor
/// with CID, parentCID, createType, parentFileNameHint, extent lines and DDB (adapter, geometry,
/// hardware version, uuid, longContentID) in VMware's order. Deltas (parent set) get only the DDB
/// keys VMware gives deltas. Throws UsageError for a capacity that is 0 or not a multiple of 512,
/// a grain size out of range, type raw.
NewDiskPlan plan_new_disk(const std::filesystem::path& path, std::uint64_t capacity, const NewDiskOptions& options,
                          std::optional<ParentLink> parent = std::nullopt);

/// Writes a planned disk beside its path: a one-file disk under a temporary name renamed into
/// place, a disk with a standalone descriptor through DiskOutput's staged names (atomic commit).
/// Construction applies DiskOutput's checks to every file of the plan (existing files refused
/// unless rules.overwrite, never a layer with children).
class NewDiskWriter {
 public:
  explicit NewDiskWriter(NewDiskPlan plan, OutputRules rules = {});
  /// A streamOptimized disk written to a sequential sink (nothing is renamed).
  NewDiskWriter(NewDiskPlan plan, std::shared_ptr<ByteSink> sink);
  ~NewDiskWriter();  ///< removes the temporaries unless commit() succeeded
  NewDiskWriter(const NewDiskWriter&) = delete;
  NewDiskWriter& operator=(const NewDiskWriter&) = delete;

  const NewDiskPlan& plan() const { return plan_; }
  /// Disk bytes at a disk offset, ascending across calls (ExtentWriter rules), split over extents.
  void write(std::uint64_t offset, std::span<const std::uint8_t> data);
  /// Finishes every extent, renames extents then the descriptor into place. With the plan's
  /// Durability::synced every file is fsynced before its rename and the folder after; with
  /// page_cache (the default, also on a caller's sink) nothing is fsynced. Returns the final file
  /// paths, descriptor first. Throws IoError.
  std::vector<std::string> commit();
  /// Bytes of all output files so far.
  std::uint64_t file_bytes() const;

 private:
  struct Impl;
  NewDiskPlan plan_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmdk::ops
