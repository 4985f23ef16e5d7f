// Scanning folders for disks by CID and capacity (see parent_search.hpp; vmdk-format.md 5.1, 6.2).
#include "ops/rebuild/parent_search.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <system_error>

#include "disk/path_confine.hpp"
#include "extent/kind_table.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "-s001" / "-f012": the numbered parts of split disks (3 digits, 2.10).
bool ends_with_part_number(const std::string& stem) {
  if (stem.size() < 5) return false;
  const std::string tail = stem.substr(stem.size() - 5);
  return tail[0] == '-' && (tail[1] == 's' || tail[1] == 'f') &&
         std::isdigit(static_cast<unsigned char>(tail[2])) &&
         std::isdigit(static_cast<unsigned char>(tail[3])) &&
         std::isdigit(static_cast<unsigned char>(tail[4]));
}

// The folder as the scan reports paths in it: "x.vmdk" rather than "./x.vmdk".
fs::path in_folder(const fs::path& folder, const fs::path& name) {
  return folder.empty() || folder == "." ? name : folder / name;
}

bool is_bare_sparse(const fs::path& path) {
  std::unique_ptr<File> file = File::open(path);
  return extent::self_describing_kind(*file) != nullptr;
}

}  // namespace

bool same_file_location(const fs::path& a, const fs::path& b) {
  std::error_code error;
  if (fs::exists(a, error) && fs::exists(b, error)) {
    const bool same = fs::equivalent(a, b, error);
    if (!error) return same;
  }
  const fs::path ca = fs::weakly_canonical(fs::absolute(a, error), error);
  if (error) return false;
  const fs::path cb = fs::weakly_canonical(fs::absolute(b, error), error);
  return !error && ca == cb;
}

bool is_extent_file_name(const fs::path& file) {
  const std::string name = file.filename().string();
  if (!name.empty() && name[0] == '.' && ends_with(name, ".vmdkit-tmp")) return true;
  const std::string stem = paths::lower_ascii(file.stem().string());
  for (std::string_view suffix : {"-flat", "-delta", "-sesparse", "-ctk", "-rdm", "-rdmp", "-pt"}) {
    if (ends_with(stem, suffix)) return true;
  }
  return ends_with_part_number(stem);
}

DiskScan scan_disks(const std::vector<fs::path>& folders, const DiskFilter& filter, const OpenOptions& open) {
  DiskScan scan;
  std::vector<fs::path> seen;
  OpenOptions options = open;
  // A broken disk (extents missing or damaged) still tells its CID and capacity.
  options.allow_missing_extents = true;
  options.allow_damaged_extents = true;
  for (const fs::path& given : folders) {
    const fs::path folder = given.empty() ? fs::path(".") : given;
    if (std::any_of(seen.begin(), seen.end(),
                    [&](const fs::path& f) { return same_file_location(f, folder); }))
      continue;
    seen.push_back(folder);

    std::vector<fs::path> names;
    std::error_code error;
    for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
      std::error_code status_error;
      if (!it->is_regular_file(status_error) || status_error) continue;
      const fs::path name = it->path().filename();
      if (paths::lower_ascii(name.extension().string()) == ".vmdk") names.push_back(name);
    }
    if (error) {
      scan.skipped.push_back({given, "cannot list the folder: " + error.message()});
      continue;
    }
    std::sort(names.begin(), names.end());  // directory order is arbitrary; reports must repeat
    for (const fs::path& name : names) {
      const fs::path path = in_folder(given, name);
      if (is_extent_file_name(name)) {
        scan.skipped.push_back({path, "extent file name"});
        continue;
      }
      try {
        std::unique_ptr<Disk> disk = Disk::open(path, options);
        if (!disk->embedded_descriptor() && is_bare_sparse(path)) {
          scan.skipped.push_back({path, "bare sparse extent without a descriptor"});
          continue;
        }
        ParentCandidate candidate;
        candidate.path = path;
        candidate.cid = disk->descriptor().cid();
        candidate.capacity = disk->capacity();
        candidate.parent_cid = disk->descriptor().parent_cid();
        candidate.parent_hint = disk->descriptor().parent_file_name_hint();
        candidate.complete = disk->complete();
        if (filter.cid && candidate.cid != filter.cid) continue;
        if (filter.capacity && candidate.capacity != *filter.capacity) continue;
        scan.disks.push_back(std::move(candidate));
      } catch (const std::exception& e) {
        // One unreadable file must not hide the others: it is reported, not thrown.
        scan.skipped.push_back({path, e.what()});
      }
    }
  }
  auto by_path = [](const auto& a, const auto& b) { return a.path < b.path; };
  std::stable_sort(scan.disks.begin(), scan.disks.end(), by_path);
  std::stable_sort(scan.skipped.begin(), scan.skipped.end(), by_path);
  return scan;
}

std::vector<ParentCandidate> find_disks_by_cid(const std::vector<fs::path>& folders, std::uint32_t cid,
                                               std::optional<std::uint64_t> capacity,
                                               const OpenOptions& open) {
  return scan_disks(folders, DiskFilter{cid, capacity}, open).disks;
}

bool hint_names(const std::string& hint, const fs::path& child_folder, const fs::path& target,
                bool allow_outside) {
  const std::string name = paths::normalize_separators(hint);
  if (name.empty()) return false;
  const fs::path folder = child_folder.empty() ? fs::path(".") : child_folder;
  if (paths::is_absolute_name(name)) {
    // Chain::open tries the absolute path (outside paths allowed), then its last component locally.
    if (allow_outside && name[0] == '/' && same_file_location(fs::path(name), target)) return true;
    const std::string last = paths::last_component(name);
    return !last.empty() && last != ".." && same_file_location(folder / last, target);
  }
  if (paths::has_dotdot(name) && !allow_outside) return false;
  return same_file_location(folder / name, target);
}

}  // namespace vmdk::ops
