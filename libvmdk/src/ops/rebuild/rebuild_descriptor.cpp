// rebuild_descriptor (vmdk-format.md 6.5 "lost descriptor"): the extents measured, a delta's parent
// and the CID chosen (1.10, 6.2), the text planned like a new disk's (ops/new_disk) and written by
// temporary file + link (or rename with force), so a kill never leaves a half descriptor.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "disk/path_confine.hpp"
#include "extent/kind_table.hpp"
#include "io/checked_math.hpp"
#include "ops/common/children.hpp"
#include "ops/output/new_disk.hpp"
#include "descriptor/identity.hpp"
#include "ops/rebuild/rebuild_extents.hpp"
#include "ops/rebuild/rebuild_parent.hpp"
#include "ops/common/temp_file.hpp"
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
  if (extent::kind_by_magic(*file) != nullptr) {
    throw UsageError(name,
                     "starts with a sparse extent magic at 0x0: it holds disk data and is not replaced, "
                     "even when forced");
  }
  return true;
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

// The one disk the given files are extents of. Throws UsageError for other names or a mix.
ExtentName disk_name(const std::vector<fs::path>& given) {
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
  return *name;
}

// The parentCID of the first child naming the descriptor (its link holds only if the rebuilt disk
// keeps the CID the child was made against); nullopt for a new CID. Notes both in report.
std::optional<std::uint32_t> cid_from_children(const ops::rebuild::Neighbourhood& around,
                                               std::uint64_t capacity, bool seeded, RebuildReport& report) {
  if (around.children.empty()) {
    report.cid_source = seeded ? "seed" : "random";
    report.cid_reason = "no disk names this one as its parent: a new CID";
    return std::nullopt;
  }
  const ParentCandidate& child = around.children.front();
  report.cid_source = "child";
  report.cid_reason =
      child.path.string() + " names this disk as its parent with parentCID " + format_cid(child.parent_cid);
  for (const ParentCandidate& other : around.children) {
    if (other.parent_cid != child.parent_cid) {
      report.warnings.push_back(other.path.string() + " expects parentCID " + format_cid(other.parent_cid) +
                                ", not " + format_cid(child.parent_cid) +
                                ": its link will show a CID mismatch");
    }
    if (other.capacity != capacity) {
      report.warnings.push_back(other.path.string() + " names this disk as its parent but its capacity " +
                                hex(other.capacity) + " differs from " + hex(capacity));
    }
  }
  return child.parent_cid;
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

// Each member measured (its kind, its bytes), refusing dest among them and sizes past 2^64.
std::vector<ops::rebuild::MeasuredExtent> measure_rebuilt_extents(const std::vector<fs::path>& members,
                                                                  ExtentKind kind, const fs::path& dest,
                                                                  RebuildReport& report) {
  std::vector<ops::rebuild::MeasuredExtent> measured;
  std::uint64_t capacity = 0;
  for (const fs::path& member : members) {
    measured.push_back(ops::rebuild::measure_extent(member, kind, report.warnings));
    if (ops::same_file_location(member, dest)) {
      throw UsageError(dest.string(), "is an extent of the disk; the descriptor must be another file");
    }
    std::optional<std::uint64_t> sum = vmdk::checked_add(capacity, measured.back().bytes);
    if (!sum) throw FormatError(member.string(), "extent sizes add up to more than 2^64 bytes");
    capacity = *sum;
  }
  return measured;
}

// A delta's parent (given, or found around it), recorded in report with the hint that names it.
ops::rebuild::ParentChoice choose_rebuilt_parent(const ops::rebuild::Neighbourhood& around, const ExtentName& name,
                                                 std::uint64_t capacity, const fs::path& folder,
                                                 const RebuildOptions& options, RebuildReport& report) {
  ops::rebuild::ParentChoice parent =
      options.parent ? ops::rebuild::given_parent(around, *options.parent, capacity, options.parent_cid, options.open)
                     : ops::rebuild::search_parent(around, name, capacity, options.parent_cid);
  report.parent = parent.path.string();
  report.parent_cid = parent.cid;
  report.parent_source = parent.source;
  report.parent_reason = parent.reason;
  report.parent_hint = relative_name(parent.path, folder);
  if (leaves_folder(report.parent_hint)) {
    report.warnings.push_back("parentFileNameHint \"" + report.parent_hint +
                              "\" leaves the descriptor's folder: the chain opens only with --allow-outside-paths");
  }
  return parent;
}

// The extent lines naming the measured files from folder (listed in report too).
std::vector<ExtentLine> rebuilt_extent_lines(const std::vector<ops::rebuild::MeasuredExtent>& measured,
                                             const fs::path& folder, RebuildReport& report) {
  std::vector<ExtentLine> lines;
  for (const auto& m : measured) {
    ExtentLine line;
    line.sectors = m.bytes / 512;  // measured capacities are whole sectors
    line.type = m.type;
    line.file = relative_name(m.path, folder);
    if (m.type == ExtentType::flat) line.offset = 0;  // FLAT lines need it, VMFS* lines must not have it
    if (leaves_folder(line.file)) {
      report.warnings.push_back("extent name \"" + line.file +
                                "\" leaves the descriptor's folder: the disk opens only with --allow-outside-paths");
    }
    report.extents.push_back({m.path.string(), line.file, std::string(to_string(m.type)), m.bytes});
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace

RebuildReport rebuild_descriptor(const std::vector<fs::path>& given, const RebuildOptions& options) {
  if (given.empty()) throw UsageError("", "no extent file given");
  RebuildReport report;
  const ExtentName name = disk_name(given);
  const bool split = name.kind == ExtentKind::split_flat || name.kind == ExtentKind::split_sparse;
  const std::vector<fs::path> members =
      split ? ops::rebuild::split_members(given.front(), name) : std::vector<fs::path>{given.front()};
  const fs::path dest =
      options.out ? *options.out : given.front().parent_path() / (name.base + name.extension);
  const fs::path folder = paths::folder_of(dest);

  const std::vector<ops::rebuild::MeasuredExtent> measured = measure_rebuilt_extents(members, name.kind, dest, report);
  std::uint64_t capacity = 0;
  for (const auto& m : measured) capacity += m.bytes;  // measure_rebuilt_extents checked the sum
  report.replaced = check_destination(dest, options.force);

  const bool delta = name.kind == ExtentKind::cowd || name.kind == ExtentKind::sesparse ||
                     (name.kind == ExtentKind::split_sparse && (name.snapshot_number != 0 || options.parent));
  if (!delta && options.parent) {
    throw UsageError(options.parent->string(),
                     "a flat disk has no parent; a parent applies to sparse deltas only");
  }
  if (!delta && options.parent_cid)
    report.warnings.push_back("a parent CID was given for a base disk; ignored");

  // The disks around the new descriptor: its children (they know its CID) and a delta's parent.
  std::vector<fs::path> folders{folder, paths::folder_of(given.front())};
  folders.insert(folders.end(), options.search.begin(), options.search.end());
  const ops::rebuild::Neighbourhood around = ops::rebuild::scan_neighbourhood(dest, folders, options.open);
  for (const ops::SkippedFile& s : around.scan.skipped) {
    if (s.reason != "extent file name" && s.reason != "bare sparse extent without a descriptor" &&
        !ops::same_file_location(s.path, dest)) {
      report.warnings.push_back("not considered: " + s.reason);
    }
  }

  std::optional<ops::ParentLink> link;
  std::optional<Descriptor> parent_descriptor;
  if (delta) {
    const ops::rebuild::ParentChoice parent = choose_rebuilt_parent(around, name, capacity, folder, options, report);
    link = ops::ParentLink{parent.cid, report.parent_hint};
    parent_descriptor = ops::peek_descriptor(parent.path);
  }

  NewDiskOptions o;
  o.type = plan_type(name.kind);
  o.adapter = options.adapter;
  o.hw_version = options.hw_version;
  o.seed = options.seed;
  o.cid = cid_from_children(around, capacity, options.seed.has_value(), report);
  ops::NewDiskPlan plan = ops::plan_new_disk(dest, capacity, o, link);
  if (link && !o.cid && plan.cid == link->parent_cid) {
    // Legal (ESXi children start so) but confusing, and what rebuilding a whole chain with one seed
    // would give every link: take the generator's next CID instead.
    Random random(options.seed);
    random.cid();  // the one plan_new_disk drew
    do {
      o.cid = random.cid();
    } while (*o.cid == link->parent_cid);
    plan = ops::plan_new_disk(dest, capacity, o, link);
    report.cid_reason += " (the first drawn equalled the parent's CID)";
  }

  Descriptor& descriptor = plan.descriptor;
  if (name.kind == ExtentKind::cowd) descriptor.set_header("createType", "vmfsSparse", true);
  if (name.kind == ExtentKind::sesparse) descriptor.set_header("createType", "seSparse", true);
  descriptor.set_extents(rebuilt_extent_lines(measured, folder, report));
  if (delta) add_delta_ddb(descriptor, ops::plan_new_disk(dest, capacity, o).descriptor, parent_descriptor);

  report.path = dest.string();
  report.create_type = descriptor.create_type();
  report.capacity = capacity;
  report.cid = plan.cid;
  report.text = descriptor.print();
  if (!options.dry_run) {
    write_descriptor(dest, report.text, report.replaced);
    report.written = true;
  }
  return report;
}

}  // namespace vmdk
