// Extent slots of one link: each descriptor line placed after the previous ones and opened by the
// kind the kind table finds for its type and file (raw device mappings are refused).
#include "disk/open_extents.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "disk/path_confine.hpp"
#include "disk/shared_files.hpp"
#include "extent/clipped_extent.hpp"
#include "extent/kind_table.hpp"
#include "io/pooled_file.hpp"
#include "vmdk/error.hpp"

namespace vmdk::disk {

namespace {

constexpr std::uint64_t kSector = 512;

// Why a slot could not be opened; with allow_missing_extents it becomes the slot's problem.
struct SlotProblem {
  ExtentProblemKind kind;
  std::string text;
};

std::string describe_line(std::size_t index, const ExtentLine& line) {
  std::string text = "extent " + std::to_string(index + 1) + " (" + std::string(to_string(line.type));
  if (!line.file.empty()) text += " \"" + line.file + "\"";
  return text + ")";
}

bool needs_file(ExtentType type) { return type != ExtentType::zero; }

std::string unsupported_reason(ExtentType type) {
  switch (type) {
    case ExtentType::vmfsrdm: return "raw device mappings point at a VMFS device, which cannot be read from here";
    case ExtentType::vmfsraw: return "raw VMFS devices cannot be read from here";
    default: return "";
  }
}

// An embedded descriptor names its own file: exactly one SPARSE line.
void require_one_sparse_line(const std::vector<ExtentLine>& lines, const std::string& descriptor_name) {
  if (lines.size() != 1 || lines[0].type != ExtentType::sparse) {
    throw FormatError(descriptor_name, "the embedded descriptor must describe exactly one SPARSE extent (it has " +
                                           std::to_string(lines.size()) + " extent lines)");
  }
}

// The slot of line index, placed at start (its virtual bytes) before anything is opened.
ExtentSlot place_slot(std::size_t index, const ExtentLine& line, std::uint64_t start,
                      const std::string& descriptor_name) {
  ExtentSlot slot;
  slot.line = line;
  slot.start = start;
  if (line.sectors > UINT64_MAX / kSector || start > UINT64_MAX - line.sectors * kSector) {
    throw FormatError(descriptor_name, describe_line(index, line) + ": size of " + std::to_string(line.sectors) +
                                           " sectors overflows the disk's address space");
  }
  slot.length = line.sectors * kSector;
  return slot;
}

// A disk of more extent files than the pool keeps open reads them through the pool (a split disk of
// 8 TiB has 4096): open on use, closed when others are needed. Smaller disks keep their files
// open, and batched reads (io_uring) on them.
bool pool_extent_files(const std::vector<ExtentLine>& lines) {
  return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [](const ExtentLine& line) {
           return needs_file(line.type);
         })) > io::kPooledOpenFiles;
}

// The host file of a slot's line, resolved inside folder (slot.path set even when it is refused or
// missing). Throws SlotProblem for a refused path, a missing file or a kind no file can be read as.
paths::FileId resolve_slot_file(const std::filesystem::path& folder, const std::string& what, ExtentSlot& slot,
                                const OpenOptions& options) {
  const ExtentLine& line = slot.line;
  const std::string name = paths::normalize_separators(line.file);
  paths::Resolved resolved = paths::resolve_in_folder(folder, name, options.allow_outside_paths);
  slot.path = resolved.path;
  if (resolved.status == paths::Resolved::Status::refused) {
    throw SlotProblem{ExtentProblemKind::refused,
                      what + ": path \"" + line.file + "\" " + resolved.reason +
                          (resolved.option_accepts ? "; refused (--allow-outside-paths accepts it)" : "; refused")};
  }
  // A missing file is reported before the kind is judged: the user must learn what is absent.
  if (resolved.status == paths::Resolved::Status::missing) {
    throw SlotProblem{ExtentProblemKind::missing, what + ": extent file " + resolved.path.string() + " is missing"};
  }
  if (std::string reason = unsupported_reason(line.type); !reason.empty()) {
    throw SlotProblem{ExtentProblemKind::unsupported, what + ": " + reason};
  }
  return resolved.id;
}

// Extents that own their whole file (sparse, stream, COWD, SESparse) already opened for this disk,
// by file and line type. Lines naming such a file again alias the first one: readers refuse the
// disk at once; info, check and repair share one extent, opened for the longest of those lines
// (the others see its first bytes), so that 500 lines naming one file cost one read of its tables,
// not 500 (issue 16).
struct WholeFileOpen {
  std::uint64_t length = 0;
  std::shared_ptr<Extent> extent;
};
using WholeFileKey = std::pair<paths::FileId, ExtentType>;
struct WholeFiles {
  std::map<WholeFileKey, std::uint64_t> longest;  // the longest line per file (inspecting commands)
  std::map<WholeFileKey, WholeFileOpen> opened;
};

// For the inspecting commands: the longest line naming each file, files found by a first pass
// over the lines (a stat each).
std::map<WholeFileKey, std::uint64_t> longest_lines(const std::vector<ExtentLine>& lines,
                                                    const std::filesystem::path& folder, const OpenOptions& options) {
  std::map<WholeFileKey, std::uint64_t> longest;
  for (const ExtentLine& line : lines) {
    if (!needs_file(line.type) || line.sectors > UINT64_MAX / kSector) continue;
    const paths::Resolved resolved =
        paths::resolve_in_folder(folder, paths::normalize_separators(line.file), options.allow_outside_paths);
    if (resolved.status != paths::Resolved::Status::ok) continue;
    std::uint64_t& length = longest[{resolved.id, line.type}];
    length = std::max(length, line.sectors * kSector);
  }
  return longest;
}

// The extent of a file line, opened or shared with an earlier line of the same whole file (see
// WholeFiles). Returns true when an earlier line named the same whole file (the two alias).
bool open_file_slot(const std::filesystem::path& folder, const std::string& what, ExtentSlot& slot,
                    const OpenOptions& options, const std::string& descriptor_name, bool pooled,
                    WholeFiles& whole_files) {
  const ExtentLine& line = slot.line;
  const WholeFileKey key{resolve_slot_file(folder, what, slot, options), line.type};
  const auto earlier = whole_files.opened.find(key);
  if (earlier != whole_files.opened.end() && earlier->second.length >= slot.length) {
    const WholeFileOpen& shared = earlier->second;
    slot.extent = shared.length == slot.length ? shared.extent
                                               : std::make_shared<extent::ClippedExtent>(shared.extent, slot.length);
    return true;
  }
  std::shared_ptr<const ByteSource> file;
  if (pooled) {
    file = io::PooledFile::open(slot.path);
  } else {
    file = File::open(slot.path);
  }
  const extent::ExtentKind& kind = extent::kind_for_line(line.type, file.get());
  std::uint64_t start_bytes = 0;
  std::uint64_t open_length = slot.length;
  if (kind.capabilities().whole_file) {
    if (auto it = whole_files.longest.find(key); it != whole_files.longest.end()) {
      open_length = std::max(open_length, it->second);
    }
  } else {
    // FLAT offsets are sectors; VMFS lines carry none (vmdk-format.md 1.6, 4.1).
    const std::uint64_t offset_sectors = line.offset.value_or(0);
    if (offset_sectors > UINT64_MAX / kSector) {
      throw FormatError(descriptor_name, what + ": offset of " + std::to_string(offset_sectors) + " sectors overflows");
    }
    start_bytes = offset_sectors * kSector;
    const std::uint64_t have = file->size();
    if (start_bytes > UINT64_MAX - slot.length || have < start_bytes + slot.length) {
      throw SlotProblem{ExtentProblemKind::short_file,
                        what + ": extent file is shorter than its descriptor line (" + hex(have) +
                            " bytes, the line needs " + hex(start_bytes) + " + " + hex(slot.length) + ")"};
    }
  }
  std::shared_ptr<Extent> extent = kind.open_reader({file, start_bytes, open_length});
  slot.extent = open_length == slot.length ? extent : std::make_shared<extent::ClippedExtent>(extent, slot.length);
  if (kind.capabilities().whole_file) whole_files.opened.insert_or_assign(key, WholeFileOpen{open_length, extent});
  return earlier != whole_files.opened.end();
}

// A slot that cannot be opened: an error for readers, a problem in the slot with
// allow_missing_extents (info, check, repair).
void record_slot_problem(const SlotProblem& problem, ExtentSlot& slot, const std::string& descriptor_name,
                         const OpenOptions& options) {
  if (!options.allow_missing_extents) {
    switch (problem.kind) {
      case ExtentProblemKind::missing: throw IoError(descriptor_name, problem.text);
      case ExtentProblemKind::unsupported: throw UnsupportedError(descriptor_name, problem.text);
      default: throw FormatError(descriptor_name, problem.text);
    }
  }
  // A missing file is its own whole story: the slot's path says which.
  slot.problem = {problem.kind, problem.kind == ExtentProblemKind::missing ? "" : problem.text, {}, std::nullopt};
}

// A slot whose extent threw while opening: false when options do not allow keeping it (the
// caller rethrows), else the slot keeps the problem.
bool record_slot_error(ExtentProblemKind kind, const Error& error, std::string message, ExtentSlot& slot,
                       const OpenOptions& options) {
  const bool allowed = options.allow_missing_extents &&
                       (kind != ExtentProblemKind::damaged || options.allow_damaged_extents);
  if (!allowed) return false;
  slot.problem = {kind, std::move(message), {}, std::nullopt};
  if (kind == ExtentProblemKind::damaged) {
    slot.problem.file = error.file();
    slot.problem.offset = error.offset();
  }
  return true;
}

}  // namespace

std::vector<ExtentSlot> open_extent_slots(const Descriptor& descriptor, const std::filesystem::path& descriptor_path,
                                          std::shared_ptr<const ByteSource> self, const OpenOptions& options) {
  const std::string descriptor_name = descriptor_path.string();
  const std::filesystem::path folder = paths::folder_of(descriptor_path);
  const auto& lines = descriptor.extents();
  if (self) require_one_sparse_line(lines, descriptor_name);
  const bool pooled = pool_extent_files(lines);

  std::vector<ExtentSlot> slots;
  slots.reserve(lines.size());
  WholeFiles whole_files;
  // Readers refuse a file named twice at its second line; the inspecting commands open it once.
  if (!self && options.allow_missing_extents && !options.strict) whole_files.longest = longest_lines(lines, folder, options);
  std::uint64_t start = 0;
  for (std::size_t index = 0; index < lines.size(); ++index) {
    const ExtentLine& line = lines[index];
    ExtentSlot slot = place_slot(index, line, start, descriptor_name);
    start += slot.length;
    const std::string what = describe_line(index, line);
    bool repeated = false;  // the line names a whole file an earlier line opened

    try {
      if (self) {
        // A monolithic KDMV file: its only extent is the file itself (vmdk-format.md 1.6).
        slot.path = descriptor_path;
        slot.extent = extent::kind_for_line(ExtentType::sparse, self.get()).open_reader({self, 0, slot.length});
      } else if (options.strict && needs_file(line.type)) {
        throw UsageError(descriptor_name, what + ": refers to the external file \"" + line.file +
                                              "\", refused by --strict (only self-contained single-file disks)");
      } else if (!needs_file(line.type)) {
        slot.extent = extent::kind_for_line(line.type, nullptr).open_reader({nullptr, 0, slot.length});
      } else {
        repeated = open_file_slot(folder, what, slot, options, descriptor_name, pooled, whole_files);
      }
    } catch (const SlotProblem& problem) {
      record_slot_problem(problem, slot, descriptor_name, options);
    } catch (const IoError& error) {
      // An extent file that exists but cannot be opened (no permission, a FIFO named with
      // --allow-outside-paths): info lists it, everything else fails.
      if (!record_slot_error(ExtentProblemKind::refused, error, describe_line(index, line) + ": " + error.what(),
                             slot, options)) {
        throw;
      }
    } catch (const UnsupportedError& error) {
      // Sparse kinds this version cannot read (a header flag, a version) are also reportable.
      if (!record_slot_error(ExtentProblemKind::unsupported, error, error.what(), slot, options)) throw;
    } catch (const FormatError& error) {
      // check and repair look at a damaged extent themselves, structure by structure.
      if (!record_slot_error(ExtentProblemKind::damaged, error, error.what(), slot, options)) throw;
    }
    slots.push_back(std::move(slot));
    // For readers such a disk has no single content: refused at once, before the next lines are
    // opened (a hostile descriptor may name one file hundreds of times).
    if (repeated && !options.allow_missing_extents) refuse_extent_aliases(slots, descriptor_name, descriptor_path);
  }
  // Lines that alias each other leave the disk without one content: refused for reading; the
  // commands that inspect (info, check, repair) open it, and check reports every pair.
  if (!options.allow_missing_extents) refuse_extent_aliases(slots, descriptor_name, descriptor_path);
  return slots;
}

}  // namespace vmdk::disk
