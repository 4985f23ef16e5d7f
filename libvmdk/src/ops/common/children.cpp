// find_children and find_lock: which disks in a folder name a disk as their parent (by
// parentFileNameHint, resolved as Chain::open does, vmdk-format.md 6.2) and whether VMware holds a
// `<file>.lck` lock folder on it (5.4); also the naming of new delta links (5.1, 6.6).
#include "ops/common/children.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>
#include <span>
#include <system_error>

#include "disk/path_confine.hpp"
#include "extent/kind_table.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk {

namespace fs = std::filesystem;

namespace ops {

namespace {

// Descriptors are a few KiB (vmdk-format.md 1.2 advises < 10 KiB); the header keys we need come first.
constexpr std::size_t kPeekBytes = 64 * 1024;
constexpr std::uint32_t kMaxSnapshotNumber = 999999;
constexpr std::size_t kSnapshotDigits = 6;

bool has_vmdk_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".vmdk";
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// Where a candidate's parent hint points, in the order Chain::open tries them (chain/resolve.cpp):
// a relative hint in the candidate's folder; an absolute one as it is (outside paths allowed) and
// then its last component in the candidate's folder; ".." only when outside paths are allowed.
std::vector<fs::path> hint_targets(const std::string& hint, const fs::path& folder, bool allow_outside) {
  std::vector<fs::path> targets;
  const std::string name = paths::normalize_separators(hint);
  if (name.empty()) return targets;
  std::vector<std::string> names;
  if (paths::is_absolute_name(name)) {
    if (allow_outside && name[0] == '/') names.push_back(name);
    const std::string last = paths::last_component(name);
    if (!last.empty() && last != "..") names.push_back(last);
  } else if (!paths::has_dotdot(name) || allow_outside) {
    names.push_back(name);
  }
  for (const std::string& candidate : names) {
    paths::Resolved resolved = paths::resolve_in_folder(folder, candidate, allow_outside);
    if (resolved.status == paths::Resolved::Status::ok) targets.push_back(resolved.path);
  }
  return targets;
}

}  // namespace

std::optional<Descriptor> peek_descriptor(const fs::path& file) {
  try {
    std::unique_ptr<File> source = File::open(file);
    if (const extent::ExtentKind* kind = extent::self_describing_kind(*source)) {
      std::optional<extent::EmbeddedDescriptor> area = kind->embedded_descriptor(*source);
      if (!area || !area->text) return std::nullopt;
      return Descriptor::parse(*area->text, file.string());
    }
    std::string head(kPeekBytes, '\0');
    const std::size_t got = source->read_at(
        0, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(head.data()), head.size()));
    head.resize(got);
    if (!looks_like_descriptor(head)) return std::nullopt;
    // A longer file was cut mid-line: keep whole lines only (the header keys come first anyway).
    if (got == kPeekBytes) {
      const std::size_t last_newline = head.rfind('\n');
      head.resize(last_newline == std::string::npos ? 0 : last_newline + 1);
    }
    return Descriptor::parse(head, file.string());
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string snapshot_base_name(const fs::path& disk) {
  std::string stem = disk.stem().string();
  const std::size_t dash = stem.rfind('-');
  if (dash != std::string::npos && dash > 0 && stem.size() - dash - 1 == kSnapshotDigits &&
      all_digits(std::string_view(stem).substr(dash + 1))) {
    stem.resize(dash);
  }
  return stem;
}

fs::path next_snapshot_path(const fs::path& disk) {
  const fs::path folder = paths::folder_of(disk);
  const std::string prefix = snapshot_base_name(disk) + "-";
  std::set<std::uint32_t> taken;
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const std::string file_name = it->path().filename().string();
    std::string_view name = file_name;
    if (!name.empty() && name[0] == '.') name.remove_prefix(1);  // our temporaries: ".NAME.vmdkit-tmp"
    if (name.size() < prefix.size() + kSnapshotDigits || name.substr(0, prefix.size()) != prefix) continue;
    const std::string_view digits = name.substr(prefix.size(), kSnapshotDigits);
    if (!all_digits(digits)) continue;
    taken.insert(static_cast<std::uint32_t>(std::stoul(std::string(digits))));
  }
  if (error) throw IoError(folder.string(), "cannot list the folder: " + error.message());
  for (std::uint32_t number = 1; number <= kMaxSnapshotNumber; ++number) {
    if (taken.count(number) != 0) continue;
    char digits[16];
    std::snprintf(digits, sizeof digits, "%06u", static_cast<unsigned>(number));
    return disk.parent_path() / (prefix + digits + ".vmdk");
  }
  throw UsageError(disk.string(), "every snapshot name " + prefix + "000001.vmdk .. " + prefix +
                                      "999999.vmdk is taken in " + folder.string());
}

}  // namespace ops

std::vector<fs::path> find_children(const fs::path& disk, const OpenOptions& open) {
  std::vector<fs::path> children;
  const fs::path folder = paths::folder_of(disk);
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    // Named like the user named disk ("base-000001.vmdk", not "./base-000001.vmdk").
    const fs::path candidate = disk.parent_path() / it->path().filename();
    std::error_code status_error;
    if (!it->is_regular_file(status_error) || status_error) continue;
    if (!ops::has_vmdk_extension(candidate) || paths::same_file(candidate, disk)) continue;
    std::optional<Descriptor> descriptor = ops::peek_descriptor(candidate);
    if (!descriptor || descriptor->parent_cid() == kNoParentCid) continue;  // a base, as Chain::open reads it
    std::optional<std::string> hint = descriptor->parent_file_name_hint();
    if (!hint) continue;
    for (const fs::path& target :
         ops::hint_targets(*hint, paths::folder_of(candidate), open.allow_outside_paths)) {
      if (paths::same_file(target, disk)) {
        children.push_back(candidate);
        break;
      }
    }
  }
  if (error) throw IoError(folder.string(), "cannot list the folder: " + error.message());
  std::sort(children.begin(), children.end());  // directory order is arbitrary; reports must repeat
  return children;
}

std::optional<fs::path> find_lock(const fs::path& disk) {
  std::vector<fs::path> files{disk};
  // A standalone descriptor: VMware locks the extent files too (`NAME-flat.vmdk.lck`).
  std::optional<Descriptor> descriptor = ops::peek_descriptor(disk);
  bool standalone = false;
  try {
    std::unique_ptr<File> source = File::open(disk);
    standalone = extent::self_describing_kind(*source) == nullptr;
  } catch (const Error&) {
  }
  if (descriptor && standalone) {
    const fs::path folder = paths::folder_of(disk);
    for (const ExtentLine& line : descriptor->extents()) {
      if (line.file.empty()) continue;
      const std::string name = paths::normalize_separators(line.file);
      files.push_back(paths::is_absolute_name(name) ? fs::path(name) : folder / name);
    }
  }
  for (const fs::path& file : files) {
    fs::path lock = file;
    lock += ".lck";
    std::error_code error;
    if (fs::is_directory(lock, error)) return lock;
  }
  return std::nullopt;
}

}  // namespace vmdk
