// Rebuilding a lost descriptor from its extent files (vmdk-format.md 6.5 "lost descriptor"): flat,
// split flat and split sparse disks, hosted split deltas, ESXi vmfsSparse (COWD) and SESparse deltas.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vmdk/disk_type.hpp"
#include "vmdk/disk.hpp"

namespace vmdk {

struct RebuildOptions {
  bool dry_run = false;  ///< plan and report (refusals included), write nothing
  bool force = false;    ///< replace an existing descriptor (never a file that holds disk data)
  /// The parent of a delta, instead of searching for it; also makes a split sparse set without a
  /// -NNNNNN snapshot number a delta.
  std::optional<std::filesystem::path> parent;
  /// The parent's CID when known (vmware.log, a backup): candidates are matched by it.
  std::optional<std::uint32_t> parent_cid;
  /// Folders searched for the parent besides the extents' own (not recursively).
  std::vector<std::filesystem::path> search;
  std::optional<std::uint64_t> seed;  ///< for a random CID, UUID and longContentID: runs repeat
  /// Where to write the descriptor instead of NAME.vmdk beside the extents.
  std::optional<std::filesystem::path> out;
  Adapter adapter = Adapter::lsilogic;  ///< ddb.adapterType of a base (deltas copy their parent's)
  std::uint32_t hw_version = 4;         ///< ddb.virtualHWVersion of a base
  OpenOptions open;  ///< how candidate parents and --parent are opened (allow_outside_paths)
};

/// One extent line of the rebuilt descriptor.
struct RebuildExtent {
  std::string path;        ///< host file
  std::string file;        ///< the name written in the descriptor (relative to its folder)
  std::string type;        ///< extent type: "FLAT", "SPARSE", "VMFSSPARSE", "SESPARSE"
  std::uint64_t size = 0;  ///< bytes of virtual space
};

struct RebuildReport {
  std::string path;            ///< the descriptor written (or that would be, with dry_run)
  bool written = false;        ///< false with dry_run
  bool replaced = false;       ///< an existing descriptor was replaced (force)
  std::string create_type;     ///< "monolithicFlat", "twoGbMaxExtentFlat", "twoGbMaxExtentSparse", ...
  std::uint64_t capacity = 0;  ///< bytes
  std::vector<RebuildExtent> extents;  ///< in disk order
  std::uint32_t cid = 0;
  /// "child": taken from the parentCID of a disk that names this one as its parent (so its link
  /// holds); "seed": drawn from options.seed; "random": drawn from the operating system.
  std::string cid_source;
  std::string cid_reason;  ///< a sentence: which child, or why a new CID was drawn
  std::uint32_t parent_cid = kNoParentCid;
  std::string parent;       ///< the parent's path ("" for a base)
  std::string parent_hint;  ///< parentFileNameHint written, relative to the descriptor's folder
  /// "option" (--parent), "cid" (matched options.parent_cid), "name" (name convention among disks
  /// of the same capacity), "capacity" (the only disk of the same capacity); "" for a base.
  std::string parent_source;
  std::string parent_reason;  ///< a sentence naming the candidates considered
  std::string text;           ///< the descriptor text
  std::vector<std::string> warnings;
};

/// Writes the descriptor of the disk whose extent files are given (one or more members of one
/// disk; siblings of split sets are found in the folder): NAME-flat.vmdk, NAME-sNNN.vmdk,
/// NAME-fNNN.vmdk, NAME-NNNNNN-sNNN.vmdk (a hosted delta), NAME-NNNNNN-delta.vmdk (COWD) or
/// NAME-NNNNNN-sesparse.vmdk give NAME[-NNNNNN].vmdk beside them. Sizes come from the flat files
/// and from the sparse headers. A delta's parent is options.parent, else the disk of the same
/// capacity in the extents' folder or options.search that matches parent_cid or the naming
/// convention (NAME-(N-1).vmdk, else NAME.vmdk), else the only disk of that capacity. The CID is the
/// parentCID of a child already naming the new descriptor, else random (seeded). The text is
/// written to a temporary file, synced, then linked into place (renamed over the old one with force).
/// Throws UsageError (not an extent name, mixed disks, descriptor exists without force, a data file
/// in the way), FormatError (size not whole sectors, bad magic, empty capacity, a gap in a split
/// set), ChainError (no parent, several equally good parents, capacity mismatch with --parent),
/// IoError.
RebuildReport rebuild_descriptor(const std::vector<std::filesystem::path>& extents,
                                 const RebuildOptions& options = {});

}  // namespace vmdk
