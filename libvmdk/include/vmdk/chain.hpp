// A snapshot chain: layers from a leaf down to its base, linked by parentFileNameHint and checked
// by CID/parentCID; read as one disk through a merged, window-by-window map (DESIGN.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmdk/disk.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

/// How a layer links to the one below it. outside_folder: the parent hint leads out of the child's
/// folder (an absolute path, "..", a symlink leading elsewhere) to a file that exists, refused
/// without allow_outside_paths (--allow-outside-paths).
enum class LinkState {
  ok,
  base,
  cid_mismatch,
  missing_parent,
  capacity_mismatch,
  cycle,
  unreadable_parent,
  outside_folder
};
std::string_view to_string(LinkState state);  ///< "ok", "base", "cid_mismatch", ...

struct ChainOptions {
  OpenOptions open;
  /// Read through a CID mismatch (a warning is recorded instead of a ChainError).
  bool allow_cid_mismatch = false;
  /// Stop at the first broken link and report it in layers() instead of throwing (for `chain`).
  bool report_broken = false;
  std::size_t max_depth = 255;
  /// The chain is opened to be written (write, snapshot, consolidate, repair): a file two layers
  /// share (ChainError) or two extent lines of a layer alias (FormatError) is refused, because a
  /// write into it would change another layer or line. Reading keeps them (see shared_files()).
  bool for_writing = false;
};

/// A host file that two layers use, e.g. a child whose extent line names its parent's file.
struct SharedLayerFile {
  std::size_t upper = 0;  ///< index into layers(), nearer the leaf
  std::size_t lower = 0;  ///< index into layers(), nearer the base
  std::string file;       ///< the file as the upper layer names it
};

struct Layer {
  std::unique_ptr<Disk> disk;
  LinkState link = LinkState::base;  ///< link from this layer to its parent
  std::filesystem::path parent_path;  ///< resolved parent path (empty for a base or a missing parent)
  std::vector<std::string> tried;     ///< paths tried for the parent, in order (outside_folder: the refused one too)
  /// With report_broken: why the parent found at parent_path could not be opened (unreadable_parent).
  std::optional<Error> parent_error;
};

/// One range of the chain's map: the topmost layer that answers for it.
struct ChainRun {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::size_t depth = 0;  ///< index into layers(): 0 = the leaf; for unallocated ranges the base
  bool present = false;   ///< some layer holds data or zeros (QEMU's "present")
  bool zero = false;      ///< reads as zeros
  /// A layer's file holds the range. With zero also set, it is a hole of a flat extent's file:
  /// QEMU's data+zero, with file and host_offset naming the hole; there are no bytes to read.
  bool data = false;
  std::string file;       ///< host file for data ranges
  std::uint64_t host_offset = kNoHostOffset;
  bool compressed = false;
  bool operator==(const ChainRun&) const = default;
  /// True when the range has bytes to read or copy (data that is not a hole).
  bool holds_bytes() const { return data && !zero; }
};

class Chain {
 public:
  /// Resolves the chain from leaf. Hints are relative to the child's folder; an absolute hint
  /// falls back to its last component in the child's folder (recorded in warnings()).
  /// Throws ChainError for a missing parent (naming the hint and every path tried), a CID mismatch
  /// (naming both files and CIDs, unless allowed), a cycle or a capacity mismatch, unless
  /// report_broken is set.
  static std::unique_ptr<Chain> open(const std::filesystem::path& leaf, const ChainOptions& options = {});
  ~Chain();

  const std::vector<Layer>& layers() const;
  const std::vector<std::string>& warnings() const;
  /// True when every link is ok or base.
  bool ok() const;
  /// Files that two layers both use, found once on open (by device and inode), upper layer first.
  const std::vector<SharedLayerFile>& shared_files() const;
  std::uint64_t capacity() const;  ///< bytes (the leaf's)

  /// The disk's bytes through the chain. Cost independent of depth once a window is resolved.
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const;
  /// The map of [offset, offset+length), adjacent equal ranges merged.
  std::vector<ChainRun> map(std::uint64_t offset, std::uint64_t length) const;

 private:
  struct Impl;
  explicit Chain(std::unique_ptr<Impl> impl);
  /// Chain::open with options.open.lock.enabled: shared locks on every file, then the chain
  /// opened under them (chain_lock.cpp).
  static std::unique_ptr<Chain> open_locked(const std::filesystem::path& leaf, const ChainOptions& options);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmdk
