// Extent files of a disk whose descriptor is lost: names (vmdk-format.md 5.1), split-set members
// (2.10) and sizes from flat files and from KDMV, COWD and SESparse headers (2.1, 4.2.1, 4.3.1).
#include "ops/rebuild/rebuild_extents.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <map>
#include <system_error>

#include "disk/path_confine.hpp"
#include "extent/sparse/kdmv_layout.hpp"
#include "extent/sparse/open_sparse.hpp"
#include "io/checked_math.hpp"
#include "format/cowd_header.hpp"
#include "format/sesparse_header.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops::rebuild {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kSnapshotDigits = 6;

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

std::uint64_t sectors_to_bytes(std::uint64_t sectors, const fs::path& path, const std::string& field,
                               std::uint64_t offset) {
  const std::string at = field + " at " + hex(offset);
  if (sectors == 0) throw FormatError(path.string(), at + " is 0: the extent has no capacity", offset);
  if (sectors > format::kMaxSparseCapacitySectors) {
    throw FormatError(path.string(), at + " is " + hex(sectors) + " sectors, too large", offset);
  }
  return sectors * format::kSectorSize;
}

MeasuredExtent measure_flat(const fs::path& path, const File& file, std::vector<std::string>& warnings) {
  const std::uint64_t size = file.size();
  if (size == 0) throw FormatError(path.string(), "flat extent is empty (0 bytes)", 0);
  if (size % format::kSectorSize != 0) {
    throw FormatError(path.string(),
                      "flat extent size " + hex(size) +
                          " is not a multiple of 512 bytes: a flat extent holds whole sectors",
                      size);
  }
  std::array<std::uint8_t, 8> head{};
  const std::size_t got = file.read_at(0, head);
  std::span<const std::uint8_t> bytes(head.data(), got);
  if (format::has_kdmv_magic(bytes) || format::has_cowd_magic(bytes) || format::has_sesparse_magic(bytes)) {
    warnings.push_back(path.string() +
                       ": starts with a sparse extent magic at 0x0, yet its name makes it flat data; "
                       "it is described as flat (check that the file is what its name says)");
  }
  return {path, size, ExtentType::flat};
}

MeasuredExtent measure_kdmv(const fs::path& path, const File& file, std::vector<std::string>& warnings) {
  const format::SparseHeader header = sparse::read_sparse_header(file);  // throws for a bad magic
  const std::uint64_t bytes = sectors_to_bytes(header.capacity, path, "sparse header capacity",
                                               format::sparse_header_field("capacity").offset);
  try {
    // The full check a reader makes; a damaged directory should not stop the descriptor from being
    // written (check and repair work through it), so it is a warning here.
    sparse::load_kdmv_layout(file);
  } catch (const Error& e) {
    warnings.push_back(std::string(e.what()) + " (the descriptor is written anyway; run check)");
  }
  if (vmdk::is_power_of_two(header.grain_size) && header.capacity % header.grain_size != 0) {
    warnings.push_back(
        path.string() + ": capacity " + hex(header.capacity) +
        " sectors is not a multiple of the grain size; QEMU and libvmdk misplace later extents");
  }
  std::optional<std::string> embedded;
  try {
    embedded = sparse::read_embedded_descriptor(file);
  } catch (const Error&) {
  }
  if (embedded) {
    warnings.push_back(path.string() +
                       ": carries its own embedded descriptor, like a monolithic disk; "
                       "it is described as a part of a split set as its name says");
  }
  return {path, bytes, ExtentType::sparse};
}

MeasuredExtent measure_cowd(const fs::path& path, const File& file, std::vector<std::string>& warnings) {
  std::array<std::uint8_t, format::kCowdHeaderSize> raw{};
  read_exact(file, 0, raw, "vmfsSparse (COWD) header");
  const format::CowdHeader header = format::decode_cowd_header(raw);
  if (header.magic != format::kCowdMagic) {
    throw FormatError(path.string(),
                      "vmfsSparse (COWD) header at 0x0 has no COWD magic (found " + hex(header.magic) + ")",
                      0);
  }
  if (header.version != 1) {
    warnings.push_back(path.string() + ": COWD header version " + std::to_string(header.version) + " at " +
                       hex(format::cowd_header_field("version").offset) + " (ESXi writes 1)");
  }
  const std::uint64_t bytes = sectors_to_bytes(header.num_sectors, path, "COWD header num_sectors",
                                               format::cowd_header_field("num_sectors").offset);
  return {path, bytes, ExtentType::vmfssparse};
}

MeasuredExtent measure_sesparse(const fs::path& path, const File& file, std::vector<std::string>& warnings) {
  std::array<std::uint8_t, format::kSesparseHeaderSize> raw{};
  read_exact(file, 0, raw, "SESparse header");
  const format::SesparseHeader header = format::decode_sesparse_header(raw);
  if (header.magic != format::kSesparseMagic) {
    throw FormatError(path.string(),
                      "SESparse header at 0x0 has no SESparse magic (found " + hex(header.magic) + ")", 0);
  }
  if (header.version != format::kSesparseVersion) {
    warnings.push_back(path.string() + ": SESparse header version " + hex(header.version) + " at " +
                       hex(format::sesparse_header_field("version").offset) +
                       " is not 2.1 (QEMU refuses it)");
  }
  const std::uint64_t bytes = sectors_to_bytes(header.capacity, path, "SESparse header capacity",
                                               format::sesparse_header_field("capacity").offset);
  return {path, bytes, ExtentType::sesparse};
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
      return measure_kdmv(path, *file, warnings);
    case ExtentKind::cowd:
      return measure_cowd(path, *file, warnings);
    case ExtentKind::sesparse:
      return measure_sesparse(path, *file, warnings);
  }
  throw UsageError(path.string(), "unknown extent kind");
}

}  // namespace vmdk::ops::rebuild
