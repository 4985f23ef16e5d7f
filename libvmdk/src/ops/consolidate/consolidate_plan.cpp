// consolidate, planning (see consolidate_plan.hpp; vmdk-format.md 6.4 steps 1-2, 5.4 locks):
// every check runs here, before the first byte is written.
#include "ops/consolidate/consolidate_plan.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "disk/path_confine.hpp"
#include "ops/common/children.hpp"
#include "ops/common/descriptor_store.hpp"
#include "ops/common/folder_scan.hpp"
#include "descriptor/identity.hpp"
#include "ops/common/journal.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;

namespace {

// The merge is walked in the chain's map windows (32 MiB): one Chain::map per window.
constexpr std::uint64_t kWalkWindow = 32ull << 20;
// Room kept free beyond the appended grains (tables created on the way, the journal, descriptors).
constexpr std::uint64_t kSlack = 1ull << 20;

SlotInfo slot_info(const ExtentSlot& slot, const std::string& disk_name) {
  const std::string name = slot.path.empty() ? disk_name : slot.path.string();
  if (!slot.extent) throw UsageError(name, "cannot consolidate into it: extent " + slot.problem.text());
  const ExtentCapabilities caps = slot.extent->capabilities();
  SlotInfo info;
  if (caps.reads_as_zero) {
    info.kind = SlotKind::zero;
    return info;
  }
  if (caps.compressed) {
    throw UnsupportedError(name,
                           "is streamOptimized (compressed): its grains cannot be rewritten in place, so "
                           "nothing can be consolidated into it; convert it first (vmdkit convert " +
                               disk_name + " NEW.vmdk --to monolithicSparse)");
  }
  const ExtentDetails details = slot.extent->details();
  if (caps.grain_updates) {
    // Hosted sparse, and the ESXi deltas (COWD, SESparse) when a delta is ANCESTOR.
    info.kind = SlotKind::sparse;
    info.grain = details.grain_size;
    info.zeroed_grains = caps.zeroed_grains;
    if (info.grain == 0 || (info.grain & (info.grain - 1)) != 0) {
      throw FormatError(name, "sparse extent has grain size " + hex(info.grain) + ", not a power of two");
    }
    return info;
  }
  if (caps.data_in_place) return info;
  throw UnsupportedError(name, "consolidating into " + details.format + " extents is not supported");
}

// Files of the merged layers that another descriptor (one not being merged) names stay: they are
// not vmdkit's to remove (a shared or foreign extent). Every folder holding a removed file is scanned.
void keep_named_files(MergePlan& result) {
  std::vector<fs::path> folders;
  for (const fs::path& file : result.removed) {
    const fs::path folder = file.parent_path();
    if (std::find(folders.begin(), folders.end(), folder) == folders.end()) folders.push_back(folder);
  }
  // The merged layers' own descriptors go away with them: they do not keep a file.
  std::vector<FileKey> merged;
  for (const fs::path& p : result.merged) merged.push_back(file_key(p));
  std::vector<FolderDescriptor> scan;
  for (const fs::path& folder : folders) {
    for (FolderDescriptor& entry : scan_folder_descriptors(folder)) {
      const bool is_merged = std::any_of(merged.begin(), merged.end(),
                                         [&](const FileKey& k) { return same_key(k, entry.key); });
      if (!is_merged) scan.push_back(std::move(entry));
    }
  }
  std::vector<fs::path> removed;
  ConsolidatePlan& plan = result.plan;
  plan.removed.clear();
  for (const fs::path& file : result.removed) {
    if (std::optional<fs::path> owner = named_by(scan, file, {})) {
      plan.kept.push_back({file.string(), owner->string()});
      continue;
    }
    removed.push_back(file);
    plan.removed.push_back(file.string());
  }
  result.removed = std::move(removed);
}

// A child of TOP whose parentCID already differs from TOP's CID has a broken link; re-linking it
// would hide that finding, so it takes the same explicit acceptance as repair.
void check_child_link(const Disk& child, const Disk& top, const ConsolidateOptions& options) {
  const std::optional<std::uint32_t> top_cid = top.descriptor().cid();
  const std::uint32_t parent_cid = child.descriptor().parent_cid();
  if (options.accept_cid_mismatch || (top_cid && *top_cid == parent_cid)) return;
  throw ChainError(
      child.path().string(),
      "its link to " + top.path().string() + " is already broken (CID mismatch: parentCID " +
          format_cid(parent_cid) + " but " + top.path().string() + " has CID " + format_cid(top_cid) +
          "); consolidating would re-link it and hide that; pass --accept-cid-mismatch to re-link it "
          "anyway, or check and repair it first");
}

}  // namespace

std::uint64_t free_space(const fs::path& path) {
  const fs::path folder = paths::folder_of(path);
  struct statvfs info {};
  if (::statvfs(folder.c_str(), &info) != 0) {
    throw IoError(folder.string(), std::string("cannot read the free space: ") + std::strerror(errno));
  }
  return static_cast<std::uint64_t>(info.f_bavail) * static_cast<std::uint64_t>(info.f_frsize);
}

std::string relative_hint(const fs::path& ancestor, const fs::path& child) {
  return paths::absolute_normal(ancestor).lexically_relative(paths::absolute_normal(child).parent_path()).generic_string();
}

// The grains of one window [ws, we) of slot s into grains_ (empty when the window needs none).
void MergeGrainWalk::window_grains(std::size_t s, std::uint64_t ws, std::uint64_t we) {
  const Chain& chain = *plan_.chain;
  const Disk& ancestor = *chain.layers()[plan_.ancestor_depth].disk;
  const std::size_t depth = plan_.ancestor_depth;
  const ExtentSlot& slot = ancestor.extents()[s];
  const std::uint64_t g = plan_.slots[s].grain;
  const std::uint64_t slot_end = slot.start + slot.length;
  const std::vector<ChainRun> runs = chain.map(ws, we - ws);
  grains_.clear();
  // Grains holding any range owned by a layer above ANCESTOR.
  for (const ChainRun& run : runs) {
    if (run.depth >= depth || run.length == 0) continue;
    std::uint64_t first = (run.offset - slot.start) / g;
    const std::uint64_t last = (run.offset + run.length - slot.start + g - 1) / g;
    if (!grains_.empty() && grains_.back().index >= first) first = grains_.back().index + 1;
    for (std::uint64_t i = first; i < last; ++i) {
      MergeGrain grain;
      grain.slot = s;
      grain.index = i;
      grain.start = slot.start + i * g;
      grain.length = std::min(g, slot_end - grain.start);
      grain.zero = true;
      grains_.push_back(grain);
    }
  }
  if (grains_.empty()) return;
  // Zero grains: no layer holds bytes anywhere in them.
  std::size_t j = 0;
  for (MergeGrain& grain : grains_) {
    const std::uint64_t end = grain.start + grain.length;
    while (j < runs.size() && runs[j].offset + runs[j].length <= grain.start) ++j;
    for (std::size_t k = j; k < runs.size() && runs[k].offset < end; ++k) {
      if (runs[k].holds_bytes()) {
        grain.zero = false;
        break;
      }
    }
  }
  // What ANCESTOR's own layer holds for each grain (state at the grain's start).
  own_.clear();
  ancestor.map(ws, we - ws, own_);
  j = 0;
  for (MergeGrain& grain : grains_) {
    while (j < own_.size() && own_[j].offset + own_[j].length <= grain.start) ++j;
    if (j < own_.size()) {
      grain.held = own_[j].state == BlockState::data;
      grain.held_zero = own_[j].state == BlockState::zero;
    }
  }
}

std::span<const MergeGrain> MergeGrainWalk::next() {
  const Disk& ancestor = *plan_.chain->layers()[plan_.ancestor_depth].disk;
  while (slot_ < ancestor.extents().size()) {
    const ExtentSlot& slot = ancestor.extents()[slot_];
    const std::uint64_t g = plan_.slots[slot_].grain;
    const std::uint64_t slot_end = slot.start + slot.length;
    const std::uint64_t window = std::max(g, kWalkWindow / g * g);
    if (!in_slot_) {
      window_start_ = slot.start;
      in_slot_ = true;
    }
    while (window_start_ < slot_end) {
      const std::uint64_t ws = window_start_;
      const std::uint64_t we = std::min(slot_end, ws + window);
      window_start_ = we;
      window_grains(slot_, ws, we);
      if (!grains_.empty()) return grains_;
    }
    ++slot_;
    in_slot_ = false;
  }
  return {};
}

void walk_merge_grains(const MergePlan& plan, const std::function<void(std::span<const MergeGrain>)>& visit) {
  MergeGrainWalk walk(plan);
  for (std::span<const MergeGrain> grains = walk.next(); !grains.empty(); grains = walk.next()) visit(grains);
}

bool needs_append(const MergePlan& plan, const MergeGrain& g) {
  const SlotInfo& slot = plan.slots[g.slot];
  if (slot.kind != SlotKind::sparse || g.held) return false;
  if (!g.zero) return true;
  const bool base = plan.ancestor_depth + 1 == plan.chain->layers().size();
  if (slot.zeroed_grains || g.held_zero || base) return false;
  return true;
}

namespace {

// ANCESTOR: the layer --into names (below TOP), or the base. Returns its index in layers.
std::size_t merge_ancestor_depth(const std::vector<Layer>& layers, const fs::path& top, const std::string& top_name,
                                 const ConsolidateOptions& options) {
  std::size_t depth = layers.size() - 1;
  if (options.into) {
    std::error_code error;
    if (!fs::exists(*options.into, error)) throw UsageError(options.into->string(), "does not exist");
    depth = 0;
    for (std::size_t i = 1; i < layers.size(); ++i) {
      if (paths::same_file(layers[i].disk->path(), *options.into)) depth = i;
    }
    if (depth == 0) {
      std::string names;
      for (std::size_t i = 1; i < layers.size(); ++i)
        names += (i > 1 ? ", " : "") + layers[i].disk->path().string();
      throw UsageError(options.into->string(),
                       paths::same_file(top, *options.into)
                           ? "is TOP itself; --into names a layer below it (" + names + ")"
                           : "is not a layer below " + top_name + " (its layers: " + names + ")");
    }
  }
  return depth;
}

// The merged layers (TOP first) and the files deleted at the end: each merged layer's descriptor
// and extent files.
void merge_list_files(MergePlan& result, std::size_t depth, const fs::path& ancestor_path) {
  const std::vector<Layer>& layers = result.chain->layers();
  ConsolidatePlan& plan = result.plan;
  for (std::size_t i = 0; i < depth; ++i) {
    result.merged.push_back(layers[i].disk->path().lexically_normal());
    plan.merged.push_back(result.merged.back().string());
  }

  for (std::size_t i = 0; i < depth; ++i) {
    const Disk& disk = *layers[i].disk;
    std::vector<fs::path> files{disk.path().lexically_normal()};
    for (const ExtentSlot& slot : disk.extents()) {
      if (!slot.path.empty()) files.push_back(slot.path.lexically_normal());
    }
    for (const fs::path& file : files) {
      const bool known = std::any_of(result.removed.begin(), result.removed.end(),
                                     [&](const fs::path& p) { return paths::same_file(p, file); });
      if (known) continue;
      if (paths::same_file(file, ancestor_path)) {
        throw UsageError(disk.path().string(), "shares the file " + file.string() + " with the ancestor");
      }
      result.removed.push_back(file);
      plan.removed.push_back(file.string());
    }
  }
}

// A layer in the merge (other than TOP) or ANCESTOR with a child outside the chain: that child
// would silently read different data. Never overridden.
void merge_refuse_outside_children(const std::vector<Layer>& layers, std::size_t depth,
                                   const ConsolidateOptions& options) {
  for (std::size_t i = 1; i <= depth; ++i) {
    for (const fs::path& child : find_children(layers[i].disk->path(), options.open)) {
      if (paths::same_file(child, layers[i - 1].disk->path())) continue;
      throw UsageError(
          layers[i].disk->path().string(),
          "has another child, " + child.string() +
              ", outside the merge: consolidating would silently "
              "change what that child reads (--force does not override this; consolidate or remove "
              "that child first)");
    }
  }
}

// Everything stays in ANCESTOR's folder unless outside paths are allowed (the journal stores
// names relative to that folder); no file may be locked (a VMware product has it open) unless --force.
void merge_check_folder_and_locks(const MergePlan& result, const fs::path& ancestor_path,
                                  const ConsolidateOptions& options) {
  if (!options.open.allow_outside_paths) {
    const fs::path folder = paths::absolute_normal(ancestor_path).parent_path();
    auto check = [&](const fs::path& p) {
      if (paths::absolute_normal(p).parent_path() != folder) {
        throw UsageError(p.string(), "is not in the ancestor's folder " + folder.string() +
                                         " (use --allow-outside-paths to consolidate across folders)");
      }
    };
    for (const fs::path& p : result.removed) check(p);
    for (const fs::path& p : result.relinks) check(p);
  }

  if (!options.force) {
    std::vector<fs::path> locked = result.merged;
    locked.push_back(ancestor_path);
    locked.insert(locked.end(), result.relinks.begin(), result.relinks.end());
    for (const fs::path& p : locked) {
      if (std::optional<fs::path> lock = find_lock(p)) {
        throw UsageError(p.string(),
                         "is locked by " + lock->string() +
                             " (a VMware product has it open); use --force if that lock is stale");
      }
    }
  }
}

// ANCESTOR must be writable in place and have a descriptor whose CID can change.
void merge_plan_ancestor(MergePlan& result, const Disk& ancestor, const ConsolidateOptions& options) {
  ConsolidatePlan& plan = result.plan;
  for (const ExtentSlot& slot : ancestor.extents()) result.slots.push_back(slot_info(slot, plan.ancestor));
  const std::optional<std::uint32_t> cid = ancestor.descriptor().cid();
  if (!cid) throw FormatError(plan.ancestor, "descriptor has no CID, so its children cannot be re-linked");
  DescriptorHome home = load_descriptor_home(ancestor);
  if (home.synthesized) {
    throw UnsupportedError(plan.ancestor,
                           "is a bare sparse extent without a descriptor: its CID cannot change");
  }
  plan.ancestor_cid = *cid;
  Random random(options.seed);
  plan.new_ancestor_cid = random.cid();
  while (plan.new_ancestor_cid == plan.ancestor_cid) plan.new_ancestor_cid = random.cid();
  check_fits(home, with_new_cid(home, plan.new_ancestor_cid));
}

// TOP's children, re-linked to ANCESTOR: each must link to TOP now and have room for its new hint.
void merge_plan_relinks(MergePlan& result, const fs::path& ancestor_path, const ConsolidateOptions& options) {
  const std::vector<Layer>& layers = result.chain->layers();
  ConsolidatePlan& plan = result.plan;
  for (const fs::path& child : result.relinks) {
    std::unique_ptr<Disk> disk = Disk::open(child, options.open);
    check_child_link(*disk, *layers.front().disk, options);
    Relink link;
    link.path = child.string();
    link.old_hint = disk->descriptor().parent_file_name_hint().value_or("");
    link.new_hint = relative_hint(ancestor_path, child);
    link.old_parent_cid = disk->descriptor().parent_cid();
    link.new_parent_cid = plan.new_ancestor_cid;
    DescriptorHome child_home = load_descriptor_home(*disk);
    if (child_home.synthesized)
      throw UnsupportedError(link.path, "has no descriptor, so it cannot be re-linked");
    check_fits(child_home, relinked(child_home, link.new_hint, link.new_parent_cid));
    plan.relinks.push_back(std::move(link));
  }
}

// Counts the grains; refuses ZERO, read-only and inaccessible ANCESTOR extents in the way.
void merge_count_grains(MergePlan& result, const Disk& ancestor) {
  const Chain& chain = *result.chain;
  ConsolidatePlan& plan = result.plan;
  const std::uint64_t first = ancestor.extents().empty() ? 0 : ancestor.extents().front().start;
  result.total_bytes = chain.capacity() - first;
  walk_merge_grains(result, [&](std::span<const MergeGrain> grains) {
    for (const MergeGrain& g : grains) {
      const ExtentSlot& slot = ancestor.extents()[g.slot];
      const SlotInfo& info = result.slots[g.slot];
      const std::string name = slot.path.empty() ? plan.ancestor : slot.path.string();
      if (info.kind == SlotKind::zero) {
        if (g.zero) continue;  // already reads as zeros
        throw UnsupportedError(name, "the ZERO extent at " + hex(slot.start) +
                                         " of the ancestor would have to hold data from above (at " +
                                         hex(g.start) + ")");
      }
      if (slot.line.access != ExtentAccess::rw) {
        throw UsageError(
            name, "cannot consolidate into it: the extent is " + std::string(to_string(slot.line.access)));
      }
      ++plan.grains;
      plan.bytes += g.length;
      if (g.zero) ++plan.zero_grains;
      if (needs_append(result, g)) plan.extra_space += info.grain;
    }
  });
}

}  // namespace

MergePlan plan_merge(const fs::path& top, const ConsolidateOptions& options) {
  MergePlan result;
  ChainOptions chain_options;
  chain_options.open = options.open;
  chain_options.for_writing = true;  // never merge into a file another layer reads
  result.chain = Chain::open(top, chain_options);  // a broken chain is refused (ChainError)
  const std::vector<Layer>& layers = result.chain->layers();
  const std::string top_name = layers.front().disk->path().string();
  if (layers.size() < 2) {
    throw UsageError(top_name, "has no parent: there is nothing to consolidate");
  }
  const std::size_t depth = merge_ancestor_depth(layers, top, top_name, options);
  result.ancestor_depth = depth;
  const Disk& ancestor = *layers[depth].disk;
  // Paths as the chain found them, without "./" (parents resolve as folder / hint).
  const fs::path ancestor_path = ancestor.path().lexically_normal();
  ConsolidatePlan& plan = result.plan;
  plan.top = top_name;
  plan.ancestor = ancestor_path.string();
  merge_list_files(result, depth, ancestor_path);
  merge_refuse_outside_children(layers, depth, options);
  keep_named_files(result);
  // TOP's children are re-linked to ANCESTOR.
  result.relinks = find_children(layers.front().disk->path(), options.open);
  merge_check_folder_and_locks(result, ancestor_path, options);
  merge_plan_ancestor(result, ancestor, options);
  merge_plan_relinks(result, ancestor_path, options);
  merge_count_grains(result, ancestor);

  plan.free_space = free_space(ancestor_path);
  if (plan.free_space < plan.extra_space + kSlack) {
    throw UsageError(plan.ancestor, "not enough free space: the merge needs " +
                                        std::to_string(plan.extra_space) + " bytes (+" +
                                        std::to_string(kSlack) + " slack), " +
                                        std::to_string(plan.free_space) + " bytes are free");
  }
  plan.journal = journal_path(ancestor_path).string();
  return result;
}

}  // namespace vmdk::ops
