// Repair of parent links (vmdk-format.md 1.10, 6.2, 6.5): a missing parent found by CID (or given),
// an absolute hint made relative, a CID mismatch accepted when the user asserts the parent.
#include "ops/repair/repair_links.hpp"

#include "disk/path_confine.hpp"
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

Finding unrepaired(const Disk& disk, std::string code, std::string message) {
  return {std::move(code), Severity::corruption, disk.path().string(), std::nullopt, std::move(message), false};
}

}  // namespace

void plan_link_repair(const Chain& chain, std::size_t depth, const RepairOptions& options, RepairPlan& plan,
                      std::vector<Finding>& left) {
  const Layer& layer = chain.layers()[depth];
  const Disk& disk = *layer.disk;
  const std::string name = disk.path().string();
  const std::optional<std::string> hint = disk.descriptor().parent_file_name_hint();
  const std::uint32_t parent_cid = disk.descriptor().parent_cid();
  std::optional<std::string> new_hint;
  std::optional<std::uint32_t> new_parent_cid;

  if (layer.link == LinkState::outside_folder) {
    // The parent exists where the hint says; only the user may accept a path outside the folder.
    left.push_back(unrepaired(disk, "parent_outside_folder",
                              "parent \"" + hint.value_or("") + "\" leads out of the delta's folder (to " +
                                  (layer.tried.empty() ? std::string("?") : layer.tried.back()) +
                                  "); run with --allow-outside-paths to read it there, or move it into the folder"));
    return;
  }
  if (layer.link == LinkState::missing_parent) {
    std::vector<ParentCandidate> found;
    if (options.parent) {
      std::unique_ptr<Disk> parent = Disk::open(*options.parent, [&] {
        OpenOptions open = options.open;
        open.allow_missing_extents = true;
        open.allow_damaged_extents = true;
        return open;
      }());
      found.push_back({*options.parent, parent->descriptor().cid(), parent->capacity(),
                       parent->descriptor().parent_cid(), parent->descriptor().parent_file_name_hint(),
                       parent->complete()});
    } else {
      std::vector<fs::path> folders{paths::folder_of(disk.path())};
      folders.insert(folders.end(), options.search.begin(), options.search.end());
      found = find_disks_by_cid(folders, parent_cid, disk.capacity(), options.open);
      // A disk of this chain above the broken link is never its parent.
      std::erase_if(found, [&](const ParentCandidate& c) {
        for (std::size_t d = 0; d <= depth; ++d) {
          if (same_file_location(c.path, chain.layers()[d].disk->path())) return true;
        }
        return false;
      });
    }
    if (found.size() != 1) {
      std::string list;
      for (const ParentCandidate& c : found) list += (list.empty() ? "" : ", ") + c.path.string();
      left.push_back(unrepaired(disk, "parent_missing",
                                found.empty() ? "no disk with CID " + format_cid(parent_cid) + " and capacity " +
                                                    hex(disk.capacity()) +
                                                    " found in its folder or the --search folders; give --parent"
                                              : "several disks could be the parent (" + list +
                                                    "); choose one with --parent"));
      return;
    }
    const ParentCandidate& parent = found.front();
    if (parent.capacity != disk.capacity()) {
      left.push_back(unrepaired(disk, "capacity_mismatch",
                                "--parent " + parent.path.string() + " has capacity " + hex(parent.capacity) +
                                    ", the delta " + hex(disk.capacity())));
      return;
    }
    if (parent.cid != parent_cid) {
      if (!options.accept_cid_mismatch) {
        left.push_back(unrepaired(disk, "cid_mismatch",
                                  "--parent " + parent.path.string() + " has CID " + format_cid(parent.cid) +
                                      ", the delta expects " + format_cid(parent_cid) +
                                      "; add --accept-cid-mismatch if it is the right parent"));
        return;
      }
      new_parent_cid = parent.cid;
    }
    new_hint = relative_hint(disk.path(), parent.path);
    if (new_hint->find("..") != std::string::npos && !options.open.allow_outside_paths) {
      // Such a hint would be refused on the next open: do not write what cannot be read.
      left.push_back(unrepaired(disk, "parent_missing",
                                "the parent is " + parent.path.string() +
                                    ", outside the delta's folder; add --allow-outside-paths to link it with the "
                                    "hint \"" + *new_hint + "\""));
      return;
    }
  } else if (layer.link == LinkState::cid_mismatch) {
    if (!options.accept_cid_mismatch) {
      left.push_back(unrepaired(disk, "cid_mismatch",
                                "parentCID does not match " + layer.parent_path.string() +
                                    "; repair sets it only with --accept-cid-mismatch"));
    } else {
      const std::unique_ptr<Disk> parent = Disk::open(layer.parent_path, [&] {
        OpenOptions open = options.open;
        open.allow_missing_extents = true;
        open.allow_damaged_extents = true;
        return open;
      }());
      new_parent_cid = parent->descriptor().cid();
    }
  }
  if (!new_hint && hint && !layer.parent_path.empty() &&
      paths::is_absolute_name(paths::normalize_separators(*hint))) {
    new_hint = relative_hint(disk.path(), layer.parent_path);
  }
  if (!new_hint && !new_parent_cid) return;

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

}  // namespace vmdk::ops
