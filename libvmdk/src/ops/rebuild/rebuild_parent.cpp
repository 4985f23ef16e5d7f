// A lost descriptor's neighbours and a delta's parent (see rebuild_parent.hpp; vmdk-format.md 6.2).
#include "ops/rebuild/rebuild_parent.hpp"

#include <algorithm>
#include <cstdio>

#include "disk/path_confine.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops::rebuild {

namespace fs = std::filesystem;

namespace {

std::string cid_list(const std::vector<const ParentCandidate*>& disks) {
  std::string text;
  for (const ParentCandidate* d : disks) {
    text += (text.empty() ? "" : ", ") + d->path.string() + " (CID " + format_cid(d->cid) + ")";
  }
  return text;
}

[[noreturn]] void ambiguous(const Neighbourhood& around, const std::vector<const ParentCandidate*>& disks,
                            const std::string& why) {
  throw ChainError(around.dest.string(), std::to_string(disks.size()) + " disks could be the parent (" + why +
                                             "): " + cid_list(disks) + "; name the parent (--parent)");
}

std::string folder_list(const Neighbourhood& around) {
  std::string folders;
  for (const fs::path& f : around.folders) folders += (folders.empty() ? "" : ", ") + f.string();
  return folders;
}

}  // namespace

Neighbourhood scan_neighbourhood(const fs::path& dest, const std::vector<fs::path>& folders,
                                 const OpenOptions& open) {
  Neighbourhood around;
  around.dest = dest;
  around.folders = folders;
  around.scan = scan_disks(folders, {}, open);
  // A descriptor being replaced (force) is neither its own parent nor its own child.
  std::erase_if(around.scan.disks,
                [&](const ParentCandidate& d) { return same_file_location(d.path, dest); });
  const bool outside = open.allow_outside_paths;
  for (const ParentCandidate& d : around.scan.disks) {
    if (d.parent_cid != kNoParentCid && d.parent_hint &&
        hint_names(*d.parent_hint, paths::folder_of(d.path), dest, outside)) {
      around.children.push_back(d);
      around.descendants.insert(d.path);
    }
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (const ParentCandidate& d : around.scan.disks) {
      if (around.descendants.count(d.path) != 0 || !d.parent_hint) continue;
      for (const fs::path& above : around.descendants) {
        if (hint_names(*d.parent_hint, paths::folder_of(d.path), above, outside)) {
          around.descendants.insert(d.path);
          grew = true;
          break;
        }
      }
    }
  }
  return around;
}

ParentChoice given_parent(const Neighbourhood& around, const fs::path& parent, std::uint64_t capacity,
                          std::optional<std::uint32_t> parent_cid, const OpenOptions& open) {
  OpenOptions options = open;
  options.allow_missing_extents = true;
  std::unique_ptr<Disk> disk = Disk::open(parent, options);
  const std::optional<std::uint32_t> cid = disk->descriptor().cid();
  if (!cid) throw FormatError(parent.string(), "the parent's descriptor has no CID");
  if (same_file_location(parent, around.dest) ||
      std::any_of(around.descendants.begin(), around.descendants.end(),
                  [&](const fs::path& d) { return same_file_location(d, parent); })) {
    throw ChainError(parent.string(),
                     "cannot be the parent of " + around.dest.string() + ": its chain runs through it");
  }
  if (disk->capacity() != capacity) {
    throw ChainError(parent.string(), "capacity " + hex(disk->capacity()) + " differs from the delta's " +
                                          hex(capacity) + " (" + around.dest.string() + ")");
  }
  if (parent_cid && *parent_cid != *cid) {
    throw ChainError(parent.string(), "has CID " + format_cid(cid) + ", not the parent CID " +
                                          format_cid(parent_cid) + " given");
  }
  return {parent, *cid, "option", "given as the parent"};
}

ParentChoice search_parent(const Neighbourhood& around, const ExtentName& name, std::uint64_t capacity,
                           std::optional<std::uint32_t> parent_cid) {
  std::vector<const ParentCandidate*> candidates;
  for (const ParentCandidate& d : around.scan.disks) {
    if (d.capacity == capacity && d.cid && around.descendants.count(d.path) == 0) candidates.push_back(&d);
  }
  const std::string of_capacity = "capacity " + hex(capacity);
  std::string source = "capacity";
  if (parent_cid) {
    std::erase_if(candidates, [&](const ParentCandidate* d) { return d->cid != parent_cid; });
    if (candidates.empty()) {
      throw ChainError(around.dest.string(), "no disk with CID " + format_cid(parent_cid) + " and " +
                                                 of_capacity + " in " + folder_list(around) +
                                                 "; name the parent (--parent)");
    }
    if (candidates.size() == 1)
      return {candidates[0]->path, *candidates[0]->cid, "cid", "the disk with that CID"};
    source = "cid";
  }
  // The names a snapshot's parent has, best first: the previous snapshot, then the base.
  std::vector<std::string> preferred;
  if (name.snapshot_number > 1) {
    char digits[16];
    std::snprintf(digits, sizeof digits, "-%06u", name.snapshot_number - 1);
    preferred.push_back(name.snapshot_root + digits + name.extension);
  }
  if (name.snapshot_number >= 1) preferred.push_back(name.snapshot_root + name.extension);
  for (const std::string& wanted : preferred) {
    std::vector<const ParentCandidate*> named;
    for (const ParentCandidate* d : candidates) {
      if (d->path.filename() == wanted) named.push_back(d);
    }
    if (named.size() > 1) ambiguous(around, named, "named " + wanted);
    if (named.size() == 1) {
      return {named[0]->path, *named[0]->cid, source == "cid" ? "cid" : "name",
              "named like the previous link (" + wanted + "); disks of " + of_capacity + ": " +
                  std::to_string(candidates.size())};
    }
  }
  if (candidates.size() > 1)
    ambiguous(around, candidates, of_capacity + ", none named like the previous link");
  if (candidates.empty()) {
    throw ChainError(around.dest.string(), "no parent found: no disk of " + of_capacity + " in " +
                                               folder_list(around) +
                                               "; name the parent (--parent) or search more folders");
  }
  return {candidates[0]->path, *candidates[0]->cid, source,
          "the only disk of " + of_capacity + " in " + folder_list(around)};
}

}  // namespace vmdk::ops::rebuild
