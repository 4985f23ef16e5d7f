// consolidate, planning (vmdk-format.md 6.4 steps 1-2): which layers merge into which ANCESTOR,
// which ANCESTOR grains the merge writes (from the chain's merged map), the space it needs, and
// every refusal (siblings, locks, read-only or compressed ANCESTOR, free space) before any write.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <span>
#include <vector>

#include "vmdk/chain.hpp"
#include "vmdk/consolidate.hpp"

namespace vmdk::ops {

/// The unit of ANCESTOR space that flat (and ZERO) extents are written in.
inline constexpr std::uint64_t kFlatBlock = 64 * 1024;

/// How ANCESTOR's extent slot is written: sparse slots through the updater of their kind
/// (extent::open_updater_for), flat slots in place, zero slots not at all.
enum class SlotKind { sparse, flat, zero };

/// One ANCESTOR grain (or flat block) that holds a range owned above ANCESTOR.
struct MergeGrain {
  std::size_t slot = 0;      ///< index into ANCESTOR's extents()
  std::uint64_t start = 0;   ///< disk offset
  std::uint64_t length = 0;  ///< bytes (the slot's last grain may be short)
  std::uint64_t index = 0;   ///< grain index in the slot's extent
  bool zero = false;         ///< no layer holds bytes anywhere in it: it reads as zeros
  bool held = false;         ///< ANCESTOR's own layer holds bytes for it (an allocated grain)
  bool held_zero = false;    ///< ANCESTOR's own layer says zeros for it (zeroed-grain entry)
};

struct SlotInfo {
  SlotKind kind = SlotKind::flat;
  std::uint64_t grain = kFlatBlock;  ///< bytes
  bool zeroed_grains = false;        ///< sparse header allows zeroed-grain entries
};

/// A checked plan with the chain it was made from.
struct MergePlan {
  std::unique_ptr<Chain> chain;
  std::size_t ancestor_depth = 0;             ///< index of ANCESTOR in chain->layers()
  std::vector<SlotInfo> slots;                ///< per ANCESTOR extent
  ConsolidatePlan plan;                       ///< the public plan (CIDs, counts, files)
  std::vector<std::filesystem::path> merged;  ///< TOP first
  std::vector<std::filesystem::path> removed;
  std::vector<std::filesystem::path> relinks;  ///< TOP's children
  std::uint64_t total_bytes = 0;               ///< bytes of the disk range walked (for progress)
};

/// The ANCESTOR grains the merge writes, one window (of the chain's map) per next() call in
/// ascending disk order. Pulled rather than visited so that the copy can read ahead of its writes.
class MergeGrainWalk {
 public:
  explicit MergeGrainWalk(const MergePlan& plan) : plan_(plan) {}
  /// The next window's grains (valid until the next call); empty at the end.
  std::span<const MergeGrain> next();

 private:
  void window_grains(std::size_t slot, std::uint64_t window_start, std::uint64_t window_end);

  const MergePlan& plan_;
  std::size_t slot_ = 0;
  bool in_slot_ = false;
  std::uint64_t window_start_ = 0;
  std::vector<MergeGrain> grains_;
  std::vector<DiskRun> own_;
};

/// Visits, window by window in ascending disk order, the ANCESTOR grains the merge writes.
void walk_merge_grains(const MergePlan& plan, const std::function<void(std::span<const MergeGrain>)>& visit);

/// True when grain g needs room appended to ANCESTOR (by the planner's reading of ANCESTOR's map).
bool needs_append(const MergePlan& plan, const MergeGrain& g);

/// Opens top's chain, picks ANCESTOR (options.into or the base), counts the grains and runs every
/// check. The new CID is drawn from random_seed. Throws UsageError, ChainError, UnsupportedError,
/// FormatError, IoError before anything is written.
MergePlan plan_merge(const std::filesystem::path& top, const ConsolidateOptions& options);

/// Bytes free for an unprivileged writer on the file system holding path's folder.
std::uint64_t free_space(const std::filesystem::path& path);

/// The folder-relative hint a child in child's folder uses for ancestor.
std::string relative_hint(const std::filesystem::path& ancestor, const std::filesystem::path& child);

}  // namespace vmdk::ops
