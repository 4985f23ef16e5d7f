// Extent files of a disk whose descriptor is lost: names (vmdk-format.md 5.1), split-set members
// (2.10) and sizes from flat files and, through the kind table, from sparse headers (2.1, 4.2.1, 4.3.1).
#include "ops/rebuild/rebuild_extents.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <map>
#include <system_error>

#include "disk/path_confine.hpp"
#include "extent/kind_table.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops::rebuild {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kSnapshotDigits = 6;
constexpr std::uint64_t kFlatSectorBytes = 512;  // a flat extent holds whole sectors

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool strip_suffix(std::string& stem, std::string_view suffix) {
  if (stem.size() <= suffix.size() || stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  stem.resize(stem.size() - suffix.size());
  return true;
}

// "-s001" -> ('s', 1); the part numbers of split sets have exactly three digits (2.10).
std::optional<std::pair<char, unsigned>> part_suffix(std::string_view stem) {
  if (stem.size() < 6) return std::nullopt;
  std::string_view tail = stem.substr(stem.size() - 5);
  if (tail[0] != '-' || (tail[1] != 's' && tail[1] != 'f') || !all_digits(tail.substr(2)))
    return std::nullopt;
  return std::pair{tail[1], static_cast<unsigned>(std::stoul(std::string(tail.substr(2))))};
}

std::string part_name(const ExtentName& name, unsigned part) {
  char digits[8];
  std::snprintf(digits, sizeof digits, "%03u", part);
  return name.base + (name.kind == ExtentKind::split_sparse ? "-s" : "-f") + digits + name.extension;
}

MeasuredExtent measure_flat(const fs::path& path, const File& file, std::vector<std::string>& warnings) {
  const std::uint64_t size = file.size();
  if (size == 0) throw FormatError(path.string(), "flat extent is empty (0 bytes)", 0);
  if (size % kFlatSectorBytes != 0) {
    throw FormatError(path.string(),
                      "flat extent size " + hex(size) +
                          " is not a multiple of 512 bytes: a flat extent holds whole sectors",
                      size);
  }
  if (extent::kind_by_magic(file) != nullptr) {
    warnings.push_back(path.string() +
                       ": starts with a sparse extent magic at 0x0, yet its name makes it flat data; "
                       "it is described as flat (check that the file is what its name says)");
  }
  return {path, size, ExtentType::flat};
}

// Sparse kinds: the capacity their header gives, through the kind that serves the line type (a
// file without its magic is reported by that type's default kind).
MeasuredExtent measure_by_kind(const fs::path& path, const File& file, ExtentType type,
                               std::vector<std::string>& warnings) {
  const extent::ExtentKind& kind = extent::kind_for_line(type, &file);
  const std::optional<std::uint64_t> bytes = kind.rebuild_capacity(file, warnings);
  if (!bytes) throw UnsupportedError(path.string(), "its extent kind keeps no capacity in a header");
  return {path, *bytes, type};
}

}  // namespace

std::optional<ExtentName> parse_extent_name(const fs::path& file) {
  ExtentName name;
  name.extension = file.extension().string();
  std::string stem = file.stem().string();
  if (auto part = part_suffix(stem)) {
    name.kind = part->first == 's' ? ExtentKind::split_sparse : ExtentKind::split_flat;
    name.part = part->second;
    stem.resize(stem.size() - 5);
  } else if (strip_suffix(stem, "-flat")) {
    name.kind = ExtentKind::flat;
  } else if (strip_suffix(stem, "-delta")) {
    name.kind = ExtentKind::cowd;
  } else if (strip_suffix(stem, "-sesparse")) {
    name.kind = ExtentKind::sesparse;
  } else {
    return std::nullopt;
  }
  if ((name.kind == ExtentKind::split_flat || name.kind == ExtentKind::split_sparse) && name.part == 0) {
    return std::nullopt;  // "-s000": parts count from 1
  }
  name.base = stem;
  name.snapshot_root = stem;
  const std::size_t dash = stem.rfind('-');
  if (dash != std::string::npos && dash > 0 && stem.size() - dash - 1 == kSnapshotDigits &&
      all_digits(std::string_view(stem).substr(dash + 1))) {
    name.snapshot_number = static_cast<unsigned>(std::stoul(stem.substr(dash + 1)));
    name.snapshot_root = stem.substr(0, dash);
  }
  return name;
}

std::vector<fs::path> split_members(const fs::path& given, const ExtentName& name) {
  const fs::path folder = paths::folder_of(given);
  std::map<unsigned, fs::path> parts;
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const fs::path file = it->path().filename();
    std::optional<ExtentName> other = parse_extent_name(file);
    if (other && other->same_disk(name)) parts[other->part] = given.parent_path() / file;
  }
  if (error) throw IoError(folder.string(), "cannot list the folder: " + error.message());
  if (parts.empty()) throw IoError(given.string(), "no such file");
  const unsigned last = parts.rbegin()->first;
  std::string missing;
  for (unsigned part = 1; part <= last; ++part) {
    if (parts.count(part) == 0) missing += (missing.empty() ? "" : ", ") + part_name(name, part);
  }
  if (!missing.empty()) {
    throw FormatError(given.string(), "the split set " + part_name(name, 1) + ".." + part_name(name, last) +
                                          " has a gap: " + missing + " missing");
  }
  std::vector<fs::path> members;
  for (auto& [part, path] : parts) members.push_back(path);
  return members;
}

MeasuredExtent measure_extent(const fs::path& path, ExtentKind kind, std::vector<std::string>& warnings) {
  std::unique_ptr<File> file = File::open(path);
  switch (kind) {
    case ExtentKind::flat:
    case ExtentKind::split_flat:
      return measure_flat(path, *file, warnings);
    case ExtentKind::split_sparse:
      return measure_by_kind(path, *file, ExtentType::sparse, warnings);
    case ExtentKind::cowd:
      return measure_by_kind(path, *file, ExtentType::vmfssparse, warnings);
    case ExtentKind::sesparse:
      return measure_by_kind(path, *file, ExtentType::sesparse, warnings);
  }
  throw UsageError(path.string(), "unknown extent kind");
}

}  // namespace vmdk::ops::rebuild
