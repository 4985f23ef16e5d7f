// Extent slots of one link: each descriptor line placed after the previous ones and opened by the
// kind the kind table finds for its type and file (raw device mappings are refused).
#include "disk/open_extents.hpp"

#include <string>

#include "disk/path_confine.hpp"
#include "disk/shared_files.hpp"
#include "extent/kind_table.hpp"
#include "vmdk/error.hpp"

namespace vmdk::disk {

namespace {

constexpr std::uint64_t kSector = 512;

// Why a slot could not be opened; with allow_missing_extents it becomes the slot's problem text.
struct SlotProblem {
  enum class Kind { missing, refused, unsupported, short_file };
  Kind kind;
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

}  // namespace

std::vector<ExtentSlot> open_extent_slots(const Descriptor& descriptor, const std::filesystem::path& descriptor_path,
                                          std::shared_ptr<const ByteSource> self, const OpenOptions& options) {
  const std::string descriptor_name = descriptor_path.string();
  const std::filesystem::path folder = paths::folder_of(descriptor_path);
  const auto& lines = descriptor.extents();
  if (self && (lines.size() != 1 || lines[0].type != ExtentType::sparse)) {
    throw FormatError(descriptor_name, "the embedded descriptor must describe exactly one SPARSE extent (it has " +
                                           std::to_string(lines.size()) + " extent lines)");
  }

  std::vector<ExtentSlot> slots;
  slots.reserve(lines.size());
  std::uint64_t start = 0;
  for (std::size_t index = 0; index < lines.size(); ++index) {
    const ExtentLine& line = lines[index];
    ExtentSlot slot;
    slot.line = line;
    slot.start = start;
    if (line.sectors > UINT64_MAX / kSector || start > UINT64_MAX - line.sectors * kSector) {
      throw FormatError(descriptor_name, describe_line(index, line) + ": size of " + std::to_string(line.sectors) +
                                             " sectors overflows the disk's address space");
    }
    slot.length = line.sectors * kSector;
    start += slot.length;
    const std::string what = describe_line(index, line);

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
        const std::string name = paths::normalize_separators(line.file);
        paths::Resolved resolved = paths::resolve_in_folder(folder, name, options.allow_outside_paths);
        slot.path = resolved.path;
        if (resolved.status == paths::Resolved::Status::refused) {
          throw SlotProblem{SlotProblem::Kind::refused,
                            what + ": path \"" + line.file + "\" " + resolved.reason +
                                (resolved.option_accepts ? "; refused (--allow-outside-paths accepts it)"
                                                         : "; refused")};
        }
        // A missing file is reported before the kind is judged: the user must learn what is absent.
        if (resolved.status == paths::Resolved::Status::missing) {
          throw SlotProblem{SlotProblem::Kind::missing,
                            what + ": extent file " + resolved.path.string() + " is missing"};
        }
        if (std::string reason = unsupported_reason(line.type); !reason.empty()) {
          throw SlotProblem{SlotProblem::Kind::unsupported, what + ": " + reason};
        }
        std::shared_ptr<const ByteSource> file = File::open(resolved.path);
        const extent::ExtentKind& kind = extent::kind_for_line(line.type, file.get());
        std::uint64_t start_bytes = 0;
        if (!kind.capabilities().whole_file) {
          // FLAT offsets are sectors; VMFS lines carry none (vmdk-format.md 1.6, 4.1).
          const std::uint64_t offset_sectors = line.offset.value_or(0);
          if (offset_sectors > UINT64_MAX / kSector) {
            throw FormatError(descriptor_name, what + ": offset of " + std::to_string(offset_sectors) +
                                                   " sectors overflows");
          }
          start_bytes = offset_sectors * kSector;
          const std::uint64_t have = file->size();
          if (start_bytes > UINT64_MAX - slot.length || have < start_bytes + slot.length) {
            throw SlotProblem{SlotProblem::Kind::short_file,
                              what + ": extent file is shorter than its descriptor line (" + hex(have) +
                                  " bytes, the line needs " + hex(start_bytes) + " + " + hex(slot.length) + ")"};
          }
        }
        slot.extent = kind.open_reader({file, start_bytes, slot.length});
      }
    } catch (const SlotProblem& problem) {
      if (!options.allow_missing_extents) {
        switch (problem.kind) {
          case SlotProblem::Kind::missing: throw IoError(descriptor_name, problem.text);
          case SlotProblem::Kind::unsupported: throw UnsupportedError(descriptor_name, problem.text);
          case SlotProblem::Kind::refused:
          case SlotProblem::Kind::short_file: throw FormatError(descriptor_name, problem.text);
        }
      }
      switch (problem.kind) {
        case SlotProblem::Kind::missing: slot.problem = "missing"; break;
        case SlotProblem::Kind::unsupported: slot.problem = "unsupported: " + problem.text; break;
        case SlotProblem::Kind::refused: slot.problem = "refused: " + problem.text; break;
        case SlotProblem::Kind::short_file: slot.problem = "short: " + problem.text; break;
      }
    } catch (const IoError& error) {
      // An extent file that exists but cannot be opened (no permission, a FIFO named with
      // --allow-outside-paths): info lists it, everything else fails.
      if (!options.allow_missing_extents) throw;
      slot.problem = "refused: " + describe_line(index, line) + ": " + error.what();
    } catch (const UnsupportedError& error) {
      // Sparse kinds this version cannot read (a header flag, a version) are also reportable.
      if (!options.allow_missing_extents) throw;
      slot.problem = std::string("unsupported: ") + error.what();
    } catch (const FormatError& error) {
      // check and repair look at a damaged extent themselves, structure by structure.
      if (!options.allow_missing_extents || !options.allow_damaged_extents) throw;
      slot.problem = std::string("damaged: ") + error.what();
      slot.problem_file = error.file();
      slot.problem_offset = error.offset();
    }
    slots.push_back(std::move(slot));
  }
  // Lines that alias each other leave the disk without one content: refused for reading; the
  // commands that inspect (info, check, repair) open it, and check reports every pair.
  if (!options.allow_missing_extents) refuse_extent_aliases(slots, descriptor_name, descriptor_path);
  return slots;
}

}  // namespace vmdk::disk
