// Chain::open: following parentFileNameHint from the leaf down to the base and checking every link
// (vmdk-format.md 1.10, 6.2): candidates for the hint, cycles, depth, CID and capacity.
#include <cstdio>
#include <set>
#include <system_error>

#include "chain/chain_impl.hpp"
#include "chain/shared_layers.hpp"
#include "disk/path_confine.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace fs = std::filesystem;

std::string_view to_string(LinkState state) {
  switch (state) {
    case LinkState::ok: return "ok";
    case LinkState::base: return "base";
    case LinkState::cid_mismatch: return "cid_mismatch";
    case LinkState::missing_parent: return "missing_parent";
    case LinkState::capacity_mismatch: return "capacity_mismatch";
    case LinkState::cycle: return "cycle";
    case LinkState::unreadable_parent: return "unreadable_parent";
    case LinkState::outside_folder: return "outside_folder";
  }
  return "unknown";
}

namespace {


// Where a parent hint may point, in the order tried (vmdk-format.md 6.2). A refusal (".." without
// allow_outside_paths) is returned as text instead of candidates.
struct Candidate {
  fs::path folder;
  std::string name;  // normalized; absolute only when outside paths are allowed
};

struct Candidates {
  std::vector<Candidate> paths;
  std::string refused;
  fs::path refused_path;  // where a refused hint points (when it names an existing file: outside_folder)
  std::string warning;    // an absolute hint that falls back to the child's folder
  fs::path outside;       // an absolute hint not followed (without allow_outside)
};

constexpr const char* kOutsideOption = "; refused: --allow-outside-paths accepts it";

// An absolute or ".." hint that leads to a real file is refused, not missing: the user must hear
// that the option would read it. A hint to nothing stays missing_parent.
bool names_existing_file(const fs::path& path) {
  std::error_code error;
  return !path.empty() && fs::is_regular_file(path, error);
}

Candidates parent_candidates(const std::string& hint, const fs::path& folder, bool allow_outside) {
  Candidates result;
  const std::string name = paths::normalize_separators(hint);
  if (name.empty()) {
    result.refused = "parentFileNameHint is empty";
    return result;
  }
  if (paths::is_absolute_name(name)) {
    if (allow_outside && name[0] == '/') result.paths.push_back({folder, name});
    if (!allow_outside && name[0] == '/') result.outside = name;
    const std::string last = paths::last_component(name);
    if (!last.empty() && last != "..") {
      fs::path local = folder / last;
      result.paths.push_back({folder, last});
      result.warning = "parent hint \"" + hint + "\" is an absolute path; looking for \"" + last +
                       "\" in the child's folder instead (" + local.string() + ")";
    }
    return result;
  }
  if (paths::has_dotdot(name) && !allow_outside) {
    result.refused_path = folder / name;
    result.refused = "parent hint \"" + hint + "\" has a \"..\" component, which leaves the child's folder (" +
                     result.refused_path.string() + ")" + kOutsideOption;
    return result;
  }
  result.paths.push_back({folder, name});
  return result;
}

// Where a child's parent is (found, id), or why it is not followed: broken is missing_parent
// (nothing there) or outside_folder (a file exists, but outside the folder), with the message.
struct ParentLookup {
  fs::path found;
  paths::FileId id;
  LinkState broken = LinkState::missing_parent;
  std::string message;
  std::string warning;  // the absolute-hint fallback, when the parent was found that way
};

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

ParentLookup find_parent(const std::string& hint, const fs::path& folder, bool allow_outside,
                         std::vector<std::string>& tried) {
  ParentLookup result;
  const Candidates candidates = parent_candidates(hint, folder, allow_outside);
  if (!candidates.refused.empty()) {
    result.message = candidates.refused;
    if (candidates.refused_path.empty()) return result;  // an empty hint points nowhere
    tried.push_back(candidates.refused_path.string());
    if (names_existing_file(candidates.refused_path)) {
      result.broken = LinkState::outside_folder;
    } else {
      result.message = "parent \"" + hint + "\" not found (tried: " + joined(tried) + "); " + candidates.refused;
    }
    return result;
  }
  std::string refusal;
  bool refused_outside = false;  // a candidate exists but leads out of the folder
  for (const Candidate& candidate : candidates.paths) {
    const paths::Resolved resolved = paths::resolve_in_folder(candidate.folder, candidate.name, allow_outside);
    tried.push_back(resolved.path.string());
    if (resolved.status == paths::Resolved::Status::ok) {
      result.found = resolved.path;
      result.id = resolved.id;
      result.warning = candidates.warning;
      return result;
    }
    if (resolved.status == paths::Resolved::Status::refused && refusal.empty()) {
      refusal = "parent " + resolved.path.string() + " " + resolved.reason;
      refused_outside = resolved.option_accepts;
      if (resolved.option_accepts) refusal += kOutsideOption;
    }
  }
  if (refusal.empty() && names_existing_file(candidates.outside)) {
    tried.push_back(candidates.outside.string());
    refusal = "parent " + candidates.outside.string() + " is an absolute path outside the child's folder" +
              kOutsideOption;
    refused_outside = true;
  }
  if (refused_outside) {
    result.broken = LinkState::outside_folder;
    result.message = refusal + " (tried: " + joined(tried) + ")";
    return result;
  }
  result.message = "parent \"" + hint + "\" not found (tried: " + joined(tried) + ")";
  if (!refusal.empty()) result.message += "; " + refusal;
  return result;
}

}  // namespace

namespace {

// Builds a chain's layers from the leaf down, one parent link at a time (vmdk-format.md 1.10, 6.2).
class ChainBuilder {
 public:
  ChainBuilder(const fs::path& leaf, const ChainOptions& options, const chain::LayerOpenHooks& hooks,
               std::vector<Layer>& layers, std::vector<std::string>& warnings)
      : leaf_(leaf), options_(options), hooks_(hooks), layers_(layers), warnings_(warnings) {}

  void build() {
    Layer first;
    first.disk = open_leaf(leaf_);
    add_warnings(*first.disk);
    if (auto id = paths::file_id(leaf_)) seen_.insert(*id);
    layers_.push_back(std::move(first));
    while (link_next()) {
    }
  }

 private:
  const fs::path& leaf_;
  const ChainOptions& options_;
  const chain::LayerOpenHooks& hooks_;
  std::vector<Layer>& layers_;
  std::vector<std::string>& warnings_;
  // Layers seen so far, by file identity: a cycle through a symlink or a hard link is still a cycle.
  std::set<paths::FileId> seen_;

  std::unique_ptr<Disk> open_leaf(const fs::path& path) {
    if (hooks_.before_open) hooks_.before_open(path);
    std::unique_ptr<Disk> disk = Disk::open(path, options_.open);
    if (hooks_.after_open) hooks_.after_open(*disk);
    return disk;
  }

  void add_warnings(const Disk& disk) {
    warnings_.insert(warnings_.end(), disk.warnings().begin(), disk.warnings().end());
  }

  // Records a broken link: thrown by default, kept in layers() with report_broken.
  void broken(Layer& layer, LinkState state, const std::string& file, const std::string& message) {
    layer.link = state;
    if (!options_.report_broken) throw ChainError(file, message);
    warnings_.push_back(file + ": " + message);
  }

  // Resolves the top layer's parent and appends it; false when the chain ends there (a base or a
  // broken link that report_broken keeps).
  bool link_next() {
    Layer& child = layers_.back();
    const Disk& child_disk = *child.disk;
    const std::string child_name = child_disk.path().string();
    const std::uint32_t parent_cid = child_disk.descriptor().parent_cid();
    if (parent_cid == kNoParentCid) {
      child.link = LinkState::base;
      return false;
    }
    if (options_.open.strict) {
      throw UsageError(child_name, "is a delta with a parent disk (parentCID " + format_cid(parent_cid) +
                                       "), refused by --strict (only self-contained single-file disks)");
    }
    std::optional<std::string> hint = child_disk.descriptor().parent_file_name_hint();
    if (!hint) {
      broken(child, LinkState::missing_parent, child_name,
             "delta has parentCID " + format_cid(parent_cid) + " but no parentFileNameHint (orphan delta)");
      return false;
    }
    ParentLookup parent_at = find_parent(*hint, paths::folder_of(child_disk.path()),
                                         options_.open.allow_outside_paths, child.tried);
    if (parent_at.found.empty()) {
      broken(child, parent_at.broken, child_name, parent_at.message);
      return false;
    }
    if (!parent_at.warning.empty()) warnings_.push_back(child_name + ": " + parent_at.warning);
    child.parent_path = parent_at.found;
    std::unique_ptr<Disk> parent = open_parent(child, parent_at);
    if (!parent || !link_holds(child, *parent, parent_cid)) return false;
    seen_.insert(parent_at.id);
    add_warnings(*parent);
    Layer next;
    next.disk = std::move(parent);
    layers_.push_back(std::move(next));
    return true;
  }

  // The parent's Disk, or null when the link is broken (a cycle, an unreadable parent).
  std::unique_ptr<Disk> open_parent(Layer& child, const ParentLookup& parent_at) {
    const std::string child_name = child.disk->path().string();
    const fs::path& found = parent_at.found;
    if (seen_.count(parent_at.id) != 0) {
      broken(child, LinkState::cycle, child_name,
             "chain has a cycle: parent " + found.string() + " is already a layer of this chain");
      return nullptr;
    }
    if (layers_.size() >= options_.max_depth) {
      // Named by the file the user gave: the layer where the limit is hit means nothing to them.
      throw ChainError(leaf_.string(), "chain is deeper than " + std::to_string(options_.max_depth) +
                                           " layers (the limit is reached at " + child_name +
                                           "); vmdkit reads at most that many");
    }
    // Outside the try: a lock refused is a refusal, not an unreadable parent.
    if (hooks_.before_open) hooks_.before_open(found);
    try {
      std::unique_ptr<Disk> parent = Disk::open(found, options_.open);
      if (hooks_.after_open) hooks_.after_open(*parent);
      return parent;
    } catch (const LockError&) {
      throw;
    } catch (const Error& error) {
      if (!options_.report_broken) throw;
      child.parent_error = error;
      broken(child, LinkState::unreadable_parent, child_name,
             "parent " + found.string() + " cannot be opened: " + error.what());
      return nullptr;
    }
  }

  // Checks the CID and capacity of a link; false when it is broken and the chain ends here.
  bool link_holds(Layer& child, const Disk& parent, std::uint32_t parent_cid) {
    const Disk& child_disk = *child.disk;
    const std::string child_name = child_disk.path().string();
    const std::string found = parent.path().string();
    const std::optional<std::uint32_t> actual_cid = parent.descriptor().cid();
    if (!actual_cid || *actual_cid != parent_cid) {
      const std::string message = "CID mismatch: " + child_name + " has parentCID " + format_cid(parent_cid) +
                                  " but its parent " + child.parent_path.string() + " has CID " +
                                  format_cid(actual_cid);
      if (!options_.allow_cid_mismatch) {
        broken(child, LinkState::cid_mismatch, child_name, message + " (the parent changed after the child was made)");
        return false;
      }
      child.link = LinkState::cid_mismatch;
      warnings_.push_back(child_name + ": " + message + " (read anyway)");
    } else {
      child.link = LinkState::ok;
    }
    if (parent.capacity() != child_disk.capacity()) {
      broken(child, LinkState::capacity_mismatch, child_name,
             "capacity mismatch: " + child_name + " is " + hex(child_disk.capacity()) + " bytes but its parent " +
                 child.parent_path.string() + " is " + hex(parent.capacity()) + " bytes");
      return false;
    }
    return true;
  }
};

}  // namespace

namespace chain {

void build_layers(const fs::path& leaf, const ChainOptions& options, const LayerOpenHooks& hooks,
                  std::vector<Layer>& layers, std::vector<std::string>& warnings) {
  ChainBuilder(leaf, options, hooks, layers, warnings).build();
}

}  // namespace chain

std::unique_ptr<Chain> Chain::open(const fs::path& leaf, const ChainOptions& options) {
  if (options.open.lock.enabled) return open_locked(leaf, options);
  auto impl = std::make_unique<Impl>();
  chain::build_layers(leaf, options, {}, impl->layers, impl->warnings);
  impl->shared = chain::find_shared_layer_files(impl->layers);
  if (options.for_writing) chain::refuse_shared_files(impl->layers, impl->shared);
  impl->capacity = impl->layers.front().disk->capacity();
  impl->cache = std::make_unique<chain::WindowCache>(impl->layers, impl->capacity);
  return std::unique_ptr<Chain>(new Chain(std::move(impl)));
}

Chain::Chain(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Chain::~Chain() = default;

const std::vector<Layer>& Chain::layers() const { return impl_->layers; }
const std::vector<std::string>& Chain::warnings() const { return impl_->warnings; }
std::uint64_t Chain::capacity() const { return impl_->capacity; }

const std::vector<SharedLayerFile>& Chain::shared_files() const { return impl_->shared; }

bool Chain::ok() const {
  for (const Layer& layer : impl_->layers) {
    if (layer.link != LinkState::ok && layer.link != LinkState::base) return false;
  }
  return true;
}

}  // namespace vmdk
