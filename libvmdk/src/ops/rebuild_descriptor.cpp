// rebuild_descriptor (vmdk-format.md 6.5 "lost descriptor"): the extents measured, a delta's parent
// and the CID chosen (1.10, 6.2), the text planned like a new disk's (ops/new_disk) and written by
// temporary file + link (or rename with force), so a kill never leaves a half descriptor.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "disk/path_confine.hpp"
#include "format/checked_math.hpp"
#include "format/cowd_header.hpp"
#include "format/sesparse_header.hpp"
#include "ops/children.hpp"
#include "ops/new_disk.hpp"
#include "ops/parent_search.hpp"
#include "ops/random.hpp"
#include "ops/rebuild_extents.hpp"
#include "ops/temp_file.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"
#include "vmdk/rebuild.hpp"

namespace vmdk {

namespace fs = std::filesystem;
using ops::ParentCandidate;
using ops::rebuild::ExtentKind;
using ops::rebuild::ExtentName;

namespace {

// A standalone descriptor is a few KiB; a larger file in its place holds disk data.
constexpr std::uint64_t kMaxDescriptorBytes = 1u << 20;

// target's name as a descriptor in folder writes it: relative, '/' separated. Only the folders
// are resolved: a symlinked extent keeps its own name.
std::string relative_name(const fs::path& target, const fs::path& folder) {
  std::error_code error;
  const fs::path target_folder = fs::weakly_canonical(fs::absolute(paths::folder_of(target), error), error);
  const fs::path base = fs::weakly_canonical(fs::absolute(folder, error), error);
  const fs::path relative = (target_folder / target.filename()).lexically_relative(base);
  return relative.empty() ? (target_folder / target.filename()).generic_string() : relative.generic_string();
}

bool leaves_folder(const std::string& name) {
  return paths::is_absolute_name(name) || paths::has_dotdot(name);
}

// True when an existing file at dest may be replaced (force); false when there is none.
bool check_destination(const fs::path& dest, bool force) {
  std::error_code error;
  const fs::file_status status = fs::symlink_status(dest, error);
  if (error || status.type() == fs::file_type::not_found) return false;
  const std::string name = dest.string();
  if (!force) throw UsageError(name, "already exists; a descriptor is never overwritten unless forced");
  if (status.type() != fs::file_type::regular)
    throw UsageError(name, "exists and is not a regular file; not replaced");
  std::unique_ptr<File> file = File::open(dest);
  if (file->size() > kMaxDescriptorBytes) {
    throw UsageError(name, "is " + hex(file->size()) +
                               " bytes, too large for a descriptor: it holds disk data and "
                               "is not replaced, even when forced");
  }
  std::array<std::uint8_t, 8> head{};
  std::span<const std::uint8_t> bytes(head.data(), file->read_at(0, head));
  if (format::has_kdmv_magic(bytes) || format::has_cowd_magic(bytes) || format::has_sesparse_magic(bytes)) {
    throw UsageError(name,
                     "starts with a sparse extent magic at 0x0: it holds disk data and is not replaced, "
                     "even when forced");
  }
  return true;
}

std::string cid_list(const std::vector<const ParentCandidate*>& disks) {
  std::string text;
  for (const ParentCandidate* d : disks) {
    text += (text.empty() ? "" : ", ") + d->path.string() + " (CID " + format_cid(d->cid) + ")";
  }
  return text;
}

// What the steps below share.
struct Context {
  Context(const RebuildOptions& o, fs::path d, ExtentName n)
      : options(o), dest(std::move(d)), name(std::move(n)) {}
  const RebuildOptions& options;
  fs::path dest;
  ExtentName name;
  std::uint64_t capacity = 0;
  std::vector<fs::path> folders;   // scanned for parents and children
  ops::DiskScan scan;              // without dest itself
  std::set<fs::path> descendants;  // disks whose chain runs through dest (never its parent)
  std::vector<const ParentCandidate*> children;
};

struct ParentChoice {
  fs::path path;
  std::uint32_t cid = 0;
  std::string source;
  std::string reason;
};

[[noreturn]] void ambiguous(const Context& c, const std::vector<const ParentCandidate*>& disks,
                            const std::string& why) {
  throw ChainError(c.dest.string(), std::to_string(disks.size()) + " disks could be the parent (" + why +
                                        "): " + cid_list(disks) + "; name the parent (--parent)");
}

ParentChoice given_parent(const Context& c, const fs::path& parent) {
  OpenOptions open = c.options.open;
  open.allow_missing_extents = true;
  std::unique_ptr<Disk> disk = Disk::open(parent, open);
  const std::optional<std::uint32_t> cid = disk->descriptor().cid();
  if (!cid) throw FormatError(parent.string(), "the parent's descriptor has no CID");
  if (ops::same_file_location(parent, c.dest) ||
      std::any_of(c.descendants.begin(), c.descendants.end(),
                  [&](const fs::path& d) { return ops::same_file_location(d, parent); })) {
    throw ChainError(parent.string(),
                     "cannot be the parent of " + c.dest.string() + ": its chain runs through it");
  }
  if (disk->capacity() != c.capacity) {
    throw ChainError(parent.string(), "capacity " + hex(disk->capacity()) + " differs from the delta's " +
                                          hex(c.capacity) + " (" + c.dest.string() + ")");
  }
  if (c.options.parent_cid && *c.options.parent_cid != *cid) {
    throw ChainError(parent.string(), "has CID " + format_cid(cid) + ", not the parent CID " +
                                          format_cid(c.options.parent_cid) + " given");
  }
  return {parent, *cid, "option", "given as the parent"};
}

// Among disks of the delta's capacity: by CID when given, then by name (NAME-(N-1), then NAME),
// then the only one. Two equally good candidates are an error, never a guess.
ParentChoice search_parent(const Context& c) {
  std::vector<const ParentCandidate*> candidates;
  for (const ParentCandidate& d : c.scan.disks) {
    if (d.capacity == c.capacity && d.cid && c.descendants.count(d.path) == 0) candidates.push_back(&d);
  }
  std::string folders;
  for (const fs::path& f : c.folders) folders += (folders.empty() ? "" : ", ") + f.string();
  const std::string capacity = "capacity " + hex(c.capacity);
  std::string source = "capacity";
  if (c.options.parent_cid) {
    std::erase_if(candidates, [&](const ParentCandidate* d) { return d->cid != c.options.parent_cid; });
    if (candidates.empty()) {
      throw ChainError(c.dest.string(), "no disk with CID " + format_cid(c.options.parent_cid) + " and " +
                                            capacity + " in " + folders + "; name the parent (--parent)");
    }
    if (candidates.size() == 1)
      return {candidates[0]->path, *candidates[0]->cid, "cid", "the disk with that CID"};
    source = "cid";
  }
  const ExtentName& n = c.name;
  std::vector<std::string> preferred;  // the names a snapshot's parent has, best first
  if (n.snapshot_number > 1) {
    char digits[16];
    std::snprintf(digits, sizeof digits, "-%06u", n.snapshot_number - 1);
    preferred.push_back(n.snapshot_root + digits + n.extension);
  }
  if (n.snapshot_number >= 1) preferred.push_back(n.snapshot_root + n.extension);
  for (const std::string& wanted : preferred) {
    std::vector<const ParentCandidate*> named;
    for (const ParentCandidate* d : candidates) {
      if (d->path.filename() == wanted) named.push_back(d);
    }
    if (named.size() > 1) ambiguous(c, named, "named " + wanted);
    if (named.size() == 1) {
      return {named[0]->path, *named[0]->cid, source == "cid" ? "cid" : "name",
              "named like the previous link (" + wanted + "); disks of " + capacity + ": " +
                  std::to_string(candidates.size())};
    }
  }
  if (candidates.size() > 1) ambiguous(c, candidates, capacity + ", none named like the previous link");
  if (candidates.empty()) {
    throw ChainError(c.dest.string(), "no parent found: no disk of " + capacity + " in " + folders +
                                          "; name the parent (--parent) or search more folders");
  }
  return {candidates[0]->path, *candidates[0]->cid, source,
          "the only disk of " + capacity + " in " + folders};
}

// Disks whose parent hint names dest, and everything below them.
void find_descendants(Context& c) {
  const bool outside = c.options.open.allow_outside_paths;
  for (const ParentCandidate& d : c.scan.disks) {
    if (d.parent_cid != kNoParentCid && d.parent_hint &&
        ops::hint_names(*d.parent_hint, paths::folder_of(d.path), c.dest, outside)) {
      c.children.push_back(&d);
      c.descendants.insert(d.path);
    }
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (const ParentCandidate& d : c.scan.disks) {
      if (c.descendants.count(d.path) != 0 || !d.parent_hint) continue;
      for (const fs::path& above : c.descendants) {
        if (ops::hint_names(*d.parent_hint, paths::folder_of(d.path), above, outside)) {
          c.descendants.insert(d.path);
          grew = true;
          break;
        }
      }
    }
  }
}

// DDB of a delta: the parent's adapter and geometry (what DDB lookups towards the base would
// find), else the values a new base of this capacity gets.
void add_delta_ddb(Descriptor& descriptor, const Descriptor& base_like,
                   const std::optional<Descriptor>& parent) {
  const bool from_parent = parent && parent->ddb("ddb.adapterType");
  for (const char* key :
       {"ddb.adapterType", "ddb.geometry.cylinders", "ddb.geometry.heads", "ddb.geometry.sectors"}) {
    std::optional<std::string> value = from_parent ? parent->ddb(key) : base_like.ddb(key);
    if (value) descriptor.set_ddb(key, *value);
  }
  std::optional<std::string> hw = parent ? parent->ddb("ddb.virtualHWVersion") : std::nullopt;
  if (!hw) hw = base_like.ddb("ddb.virtualHWVersion");
  if (hw) descriptor.set_ddb("ddb.virtualHWVersion", *hw);
}

void write_descriptor(const fs::path& dest, const std::string& text, bool replace) {
  ops::TempFile temp(dest);
  {
    std::unique_ptr<File> file = File::open(temp.temp(), File::Mode::create_truncate);
    file->write_at(
        0, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    file->flush();
  }
  if (replace) {
    temp.rename_into_place();
  } else if (::link(temp.temp().c_str(), dest.c_str()) != 0) {
    // link() never replaces: a descriptor that appeared meanwhile survives. The temporary is
    // removed by TempFile either way.
    const int error = errno;
    if (error == EEXIST)
      throw UsageError(dest.string(), "appeared while the descriptor was written; not overwritten");
    if (error != EPERM && error != EOPNOTSUPP && error != ENOSYS && error != EMLINK) {
      throw IoError(dest.string(),
                    "cannot link " + temp.temp().string() + " into place: " + std::strerror(error));
    }
    ops::refuse_existing(dest);  // a file system without hard links: check, then rename
    temp.rename_into_place();
  }
  ops::sync_folder(paths::folder_of(dest));
}

DiskType plan_type(ExtentKind kind) {
  switch (kind) {
    case ExtentKind::split_flat:
      return DiskType::two_gb_flat;
    case ExtentKind::split_sparse:
      return DiskType::two_gb_sparse;
    default:
      return DiskType::monolithic_flat;  // one extent; ESXi kinds get their type set after
  }
}

}  // namespace

RebuildReport rebuild_descriptor(const std::vector<fs::path>& given, const RebuildOptions& options) {
  if (given.empty()) throw UsageError("", "no extent file given");
  RebuildReport report;
  std::optional<ExtentName> name;
  for (const fs::path& path : given) {
    std::optional<ExtentName> parsed = ops::rebuild::parse_extent_name(path.filename());
    if (!parsed) {
      throw UsageError(path.string(),
                       "is not named like an extent file (NAME-flat.vmdk, NAME-s001.vmdk, "
                       "NAME-f001.vmdk, NAME-000001-delta.vmdk, NAME-000001-sesparse.vmdk)");
    }
    if (name && (!parsed->same_disk(*name) ||
                 !ops::same_file_location(paths::folder_of(path), paths::folder_of(given.front())))) {
      throw UsageError(path.string(), "is not an extent of the same disk as " + given.front().string() +
                                          "; rebuild one descriptor at a time");
    }
    if (!name) name = parsed;
  }
  const bool split = name->kind == ExtentKind::split_flat || name->kind == ExtentKind::split_sparse;
  std::vector<fs::path> members =
      split ? ops::rebuild::split_members(given.front(), *name) : std::vector<fs::path>{given.front()};

  Context c(options,
            options.out ? *options.out : given.front().parent_path() / (name->base + name->extension), *name);
  std::vector<ops::rebuild::MeasuredExtent> measured;
  for (const fs::path& member : members) {
    measured.push_back(ops::rebuild::measure_extent(member, name->kind, report.warnings));
    if (ops::same_file_location(member, c.dest)) {
      throw UsageError(c.dest.string(), "is an extent of the disk; the descriptor must be another file");
    }
    std::optional<std::uint64_t> sum = format::checked_add(c.capacity, measured.back().bytes);
    if (!sum) throw FormatError(member.string(), "extent sizes add up to more than 2^64 bytes");
    c.capacity = *sum;
  }
  report.replaced = check_destination(c.dest, options.force);
  const fs::path folder = paths::folder_of(c.dest);

  const bool delta =
      name->kind == ExtentKind::cowd || name->kind == ExtentKind::sesparse ||
      (name->kind == ExtentKind::split_sparse && (name->snapshot_number != 0 || options.parent));
  if (!delta && options.parent) {
    throw UsageError(options.parent->string(),
                     "a flat disk has no parent; a parent applies to sparse deltas only");
  }
  if (!delta && options.parent_cid)
    report.warnings.push_back("a parent CID was given for a base disk; ignored");

  // Disks around the new descriptor: its children (they know its CID) and, for a delta, its parent.
  c.folders = {folder, paths::folder_of(given.front())};
  c.folders.insert(c.folders.end(), options.search.begin(), options.search.end());
  c.scan = ops::scan_disks(c.folders, {}, options.open);
  std::erase_if(c.scan.disks,
                [&](const ParentCandidate& d) { return ops::same_file_location(d.path, c.dest); });
  for (const ops::SkippedFile& s : c.scan.skipped) {
    if (s.reason != "extent file name" && s.reason != "bare sparse extent without a descriptor" &&
        !ops::same_file_location(s.path, c.dest)) {
      report.warnings.push_back("not considered: " + s.reason);
    }
  }
  find_descendants(c);

  std::optional<ops::ParentLink> link;
  std::optional<Descriptor> parent_descriptor;
  if (delta) {
    ParentChoice parent = options.parent ? given_parent(c, *options.parent) : search_parent(c);
    report.parent = parent.path.string();
    report.parent_cid = parent.cid;
    report.parent_source = parent.source;
    report.parent_reason = parent.reason;
    report.parent_hint = relative_name(parent.path, folder);
    if (leaves_folder(report.parent_hint)) {
      report.warnings.push_back(
          "parentFileNameHint \"" + report.parent_hint +
          "\" leaves the descriptor's folder: the chain opens only with outside paths allowed");
    }
    link = ops::ParentLink{parent.cid, report.parent_hint};
    parent_descriptor = ops::peek_descriptor(parent.path);
  }

  NewDiskOptions o;
  o.type = plan_type(name->kind);
  o.adapter = options.adapter;
  o.hw_version = options.hw_version;
  o.seed = options.seed;
  if (!c.children.empty()) {
    // The child's link holds only if this disk keeps the CID the child was made against.
    const ParentCandidate& child = *c.children.front();
    o.cid = child.parent_cid;
    report.cid_source = "child";
    report.cid_reason =
        child.path.string() + " names this disk as its parent with parentCID " + format_cid(o.cid);
    for (const ParentCandidate* other : c.children) {
      if (other->parent_cid != child.parent_cid) {
        report.warnings.push_back(other->path.string() + " expects parentCID " +
                                  format_cid(other->parent_cid) + ", not " + format_cid(o.cid) +
                                  ": its link will show a CID mismatch");
      }
      if (other->capacity != c.capacity) {
        report.warnings.push_back(other->path.string() + " names this disk as its parent but its capacity " +
                                  hex(other->capacity) + " differs from " + hex(c.capacity));
      }
    }
  } else {
    report.cid_source = options.seed ? "seed" : "random";
    report.cid_reason = "no disk names this one as its parent: a new CID";
  }

  ops::NewDiskPlan plan = ops::plan_new_disk(c.dest, c.capacity, o, link);
  if (link && c.children.empty() && plan.cid == link->parent_cid) {
    // Legal (ESXi children start so) but confusing, and what rebuilding a whole chain with one seed
    // would give every link: take the generator's next CID instead.
    ops::Random random(options.seed);
    random.cid();  // the one plan_new_disk drew
    do {
      o.cid = random.cid();
    } while (*o.cid == link->parent_cid);
    plan = ops::plan_new_disk(c.dest, c.capacity, o, link);
    report.cid_reason += " (the first drawn equalled the parent's CID)";
  }
  Descriptor& descriptor = plan.descriptor;
  if (name->kind == ExtentKind::cowd) descriptor.set_header("createType", "vmfsSparse", true);
  if (name->kind == ExtentKind::sesparse) descriptor.set_header("createType", "seSparse", true);
  std::vector<ExtentLine> lines;
  for (const auto& m : measured) {
    ExtentLine line;
    line.sectors = m.bytes / format::kSectorSize;
    line.type = m.type;
    line.file = relative_name(m.path, folder);
    if (m.type == ExtentType::flat) line.offset = 0;
    if (leaves_folder(line.file)) {
      report.warnings.push_back(
          "extent name \"" + line.file +
          "\" leaves the descriptor's folder: the disk opens only with outside paths allowed");
    }
    report.extents.push_back({m.path.string(), line.file, std::string(to_string(m.type)), m.bytes});
    lines.push_back(std::move(line));
  }
  descriptor.set_extents(std::move(lines));
  if (delta)
    add_delta_ddb(descriptor, ops::plan_new_disk(c.dest, c.capacity, o).descriptor, parent_descriptor);

  report.path = c.dest.string();
  report.create_type = descriptor.create_type();
  report.capacity = c.capacity;
  report.cid = plan.cid;
  report.text = descriptor.print();
  if (!options.dry_run) {
    write_descriptor(c.dest, report.text, report.replaced);
    report.written = true;
  }
  return report;
}

}  // namespace vmdk
