// Repair of parent links (vmdk-format.md 1.10, 6.2, 6.5): a missing parent found by CID (or given),
// an absolute hint made relative, a CID mismatch accepted when the user asserts the parent.
#include "ops/repair/repair_links.hpp"

#include "disk/path_confine.hpp"
#include "extent/finding_codes.hpp"
#include "ops/rebuild/parent_search.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;

namespace {

// The hint VMware writes: the parent's path relative to the child's folder.
std::string relative_hint(const fs::path& child, const fs::path& parent) {
  const fs::path from = fs::absolute(paths::folder_of(child)).lexically_normal();
  const fs::path to = fs::absolute(parent).lexically_normal();
  const fs::path relative = to.lexically_relative(from);
  return (relative.empty() ? to : relative).generic_string();
}

Finding unrepaired(const Disk& disk, std::string_view code, std::string message) {
  Finding f = make_finding(code, disk.path().string(), std::nullopt, std::move(message));
  f.repairable = false;  // left: this repair could not fix it
  return f;
}

// What a link repair writes into the child's descriptor.
struct LinkEdit {
  std::optional<std::string> hint;
  std::optional<std::uint32_t> parent_cid;
};

// Opens a parent even when its own extents are missing or damaged: only its descriptor matters.
std::unique_ptr<Disk> open_link_parent(const fs::path& path, const RepairOptions& options) {
  OpenOptions open = options.open;
  open.allow_missing_extents = true;
  open.allow_damaged_extents = true;
  return Disk::open(path, open);
}

// The disks that could be the missing parent of the layer at depth: --parent, or those of its
// CID and capacity in its folder and the --search folders.
std::vector<ParentCandidate> link_parent_candidates(const Chain& chain, std::size_t depth,
                                                    const RepairOptions& options) {
  const Disk& disk = *chain.layers()[depth].disk;
  std::vector<ParentCandidate> found;
  if (options.parent) {
    std::unique_ptr<Disk> parent = open_link_parent(*options.parent, options);
    found.push_back({*options.parent, parent->descriptor().cid(), parent->capacity(),
                     parent->descriptor().parent_cid(), parent->descriptor().parent_file_name_hint(),
                     parent->complete()});
    return found;
  }
  std::vector<fs::path> folders{paths::folder_of(disk.path())};
  folders.insert(folders.end(), options.search.begin(), options.search.end());
  found = find_disks_by_cid(folders, disk.descriptor().parent_cid(), disk.capacity(), options.open);
  // A disk of this chain above the broken link is never its parent.
  std::erase_if(found, [&](const ParentCandidate& c) {
    for (std::size_t d = 0; d <= depth; ++d) {
      if (same_file_location(c.path, chain.layers()[d].disk->path())) return true;
    }
    return false;
  });
  return found;
}

// A missing parent: the one candidate becomes the new hint (and, when accepted, its CID the new
// parentCID). False when it cannot be re-linked; the reason is then in left.
bool link_missing_parent(const Chain& chain, std::size_t depth, const RepairOptions& options, LinkEdit& edit,
                         std::vector<Finding>& left) {
  const Disk& disk = *chain.layers()[depth].disk;
  const std::uint32_t parent_cid = disk.descriptor().parent_cid();
  const std::vector<ParentCandidate> found = link_parent_candidates(chain, depth, options);
  if (found.size() != 1) {
    std::string list;
    for (const ParentCandidate& c : found) list += (list.empty() ? "" : ", ") + c.path.string();
    left.push_back(unrepaired(disk, "parent_missing",
                              found.empty() ? "no disk with CID " + format_cid(parent_cid) + " and capacity " +
                                                  hex(disk.capacity()) +
                                                  " found in its folder or the --search folders; give --parent"
                                            : "several disks could be the parent (" + list +
                                                  "); choose one with --parent"));
    return false;
  }
  const ParentCandidate& parent = found.front();
  if (parent.capacity != disk.capacity()) {
    left.push_back(unrepaired(disk, "capacity_mismatch",
                              "--parent " + parent.path.string() + " has capacity " + hex(parent.capacity) +
                                  ", the delta " + hex(disk.capacity())));
    return false;
  }
  if (parent.cid != parent_cid) {
    if (!options.accept_cid_mismatch) {
      left.push_back(unrepaired(disk, "cid_mismatch",
                                "--parent " + parent.path.string() + " has CID " + format_cid(parent.cid) +
                                    ", the delta expects " + format_cid(parent_cid) +
                                    "; add --accept-cid-mismatch if it is the right parent"));
      return false;
    }
    edit.parent_cid = parent.cid;
  }
  edit.hint = relative_hint(disk.path(), parent.path);
  if (edit.hint->find("..") != std::string::npos && !options.open.allow_outside_paths) {
    // Such a hint would be refused on the next open: do not write what cannot be read.
    left.push_back(unrepaired(disk, "parent_missing",
                              "the parent is " + parent.path.string() +
                                  ", outside the delta's folder; add --allow-outside-paths to link it with the "
                                  "hint \"" + *edit.hint + "\""));
    return false;
  }
  return true;
}

// A CID mismatch: the parent's CID becomes parentCID, only when the user asserts the parent.
void link_accept_cid(const Layer& layer, const RepairOptions& options, LinkEdit& edit, std::vector<Finding>& left) {
  if (!options.accept_cid_mismatch) {
    left.push_back(unrepaired(*layer.disk, "cid_mismatch",
                              "parentCID does not match " + layer.parent_path.string() +
                                  "; repair sets it only with --accept-cid-mismatch"));
    return;
  }
  edit.parent_cid = open_link_parent(layer.parent_path, options)->descriptor().cid();
}

// Adds the descriptor edit (new hint, new parentCID) and its actions to plan.
void plan_link_edit(const Layer& layer, const LinkEdit& link, RepairPlan& plan, std::vector<Finding>& left) {
  const Disk& disk = *layer.disk;
  const std::string name = disk.path().string();
  const std::optional<std::string> hint = disk.descriptor().parent_file_name_hint();
  const std::uint32_t parent_cid = disk.descriptor().parent_cid();
  const std::optional<std::string>& new_hint = link.hint;
  const std::optional<std::uint32_t>& new_parent_cid = link.parent_cid;
  PlannedDescriptor edit{load_descriptor_home(disk), {}};
  if (edit.home.synthesized) {
    left.push_back(unrepaired(disk, "parent_missing", "a bare sparse extent has no descriptor to re-link"));
    return;
  }
  Descriptor linked = edit.home.descriptor;
  if (new_hint) {
    linked.set_parent_file_name_hint(*new_hint);
    plan.actions.push_back({layer.link == LinkState::missing_parent ? "parent_missing" : "parent_hint_absolute", name,
                            std::nullopt,
                            "parentFileNameHint \"" + hint.value_or("") + "\" -> \"" + *new_hint + "\"" +
                                (new_hint->find("..") != std::string::npos
                                     ? " (outside the delta's folder: read the chain with --allow-outside-paths)"
                                     : "")});
  }
  if (new_parent_cid) {
    linked.set_parent_cid(*new_parent_cid);
    plan.actions.push_back({"cid_mismatch", name, std::nullopt,
                            "parentCID " + format_cid(parent_cid) + " -> " + format_cid(*new_parent_cid) +
                                " (accepted: the parent is asserted to be unchanged)"});
  }
  edit.text = linked.print_preserving();
  check_fits(edit.home, edit.text);
  plan.descriptors.push_back(std::move(edit));
}

}  // namespace

void plan_link_repair(const Chain& chain, std::size_t depth, const RepairOptions& options, RepairPlan& plan,
                      std::vector<Finding>& left) {
  const Layer& layer = chain.layers()[depth];
  const Disk& disk = *layer.disk;
  const std::optional<std::string> hint = disk.descriptor().parent_file_name_hint();
  LinkEdit edit;
  if (layer.link == LinkState::outside_folder) {
    // The parent exists where the hint says; only the user may accept a path outside the folder.
    left.push_back(unrepaired(disk, "parent_outside_folder",
                              "parent \"" + hint.value_or("") + "\" leads out of the delta's folder (to " +
                                  (layer.tried.empty() ? std::string("?") : layer.tried.back()) +
                                  "); run with --allow-outside-paths to read it there, or move it into the folder"));
    return;
  }
  if (layer.link == LinkState::missing_parent) {
    if (!link_missing_parent(chain, depth, options, edit, left)) return;
  } else if (layer.link == LinkState::cid_mismatch) {
    link_accept_cid(layer, options, edit, left);
  }
  if (!edit.hint && hint && !layer.parent_path.empty() &&
      paths::is_absolute_name(paths::normalize_separators(*hint))) {
    edit.hint = relative_hint(disk.path(), layer.parent_path);
  }
  if (!edit.hint && !edit.parent_cid) return;
  plan_link_edit(layer, edit, plan, left);
}

}  // namespace vmdk::ops
