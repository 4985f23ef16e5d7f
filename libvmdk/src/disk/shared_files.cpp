// find_extent_aliases: each slot's file identity and byte range, compared pair by pair among the
// slots of one file (a disk has few lines; files are grouped first so the cost stays linear).
#include "disk/shared_files.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

#include "disk/path_confine.hpp"
#include "vmdk/error.hpp"

namespace vmdk::disk {

namespace {

struct FileUse {
  paths::FileId id;
  std::uint64_t start = 0;
  std::uint64_t end = 0;  ///< exclusive; the maximum for kinds that own their whole file
  std::size_t slot = 0;
};

bool whole_file_kind(ExtentType type) {
  return type == ExtentType::sparse || type == ExtentType::vmfssparse || type == ExtentType::sesparse;
}

std::optional<FileUse> use_of(const ExtentSlot& slot, std::size_t index) {
  if (slot.path.empty() || slot.line.type == ExtentType::zero) return std::nullopt;
  const std::optional<paths::FileId> id = paths::file_id(slot.path);
  if (!id) return std::nullopt;
  FileUse use{*id, 0, std::numeric_limits<std::uint64_t>::max(), index};
  if (!whole_file_kind(slot.line.type)) {
    // FLAT offsets are sectors (VMFS lines have none); an overflowing line was refused on parse.
    const std::uint64_t sectors = slot.line.offset.value_or(0);
    if (sectors > std::numeric_limits<std::uint64_t>::max() / 512) return use;
    use.start = sectors * 512;
    use.end = slot.length > use.end - use.start ? use.end : use.start + slot.length;
    if (use.end == use.start) return std::nullopt;  // an empty line uses no byte
  }
  return use;
}

std::string line_name(const std::vector<ExtentSlot>& slots, std::size_t index) {
  return "extent " + std::to_string(index + 1) + " (\"" + slots[index].line.file + "\")";
}

}  // namespace

std::vector<ExtentAlias> find_extent_aliases(const std::vector<ExtentSlot>& slots,
                                             const std::filesystem::path& descriptor) {
  std::vector<FileUse> uses;
  if (!descriptor.empty()) {
    if (std::optional<paths::FileId> id = paths::file_id(descriptor)) {
      uses.push_back({*id, 0, std::numeric_limits<std::uint64_t>::max(), ExtentAlias::kDescriptor});
    }
  }
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (std::optional<FileUse> use = use_of(slots[i], i)) uses.push_back(*use);
  }
  std::sort(uses.begin(), uses.end(), [](const FileUse& a, const FileUse& b) {
    return a.id != b.id ? a.id < b.id : a.slot + 1 < b.slot + 1;  // the descriptor (kDescriptor) first
  });
  std::vector<ExtentAlias> aliases;
  // A line naming a whole file (sparse and the like) that an earlier such line names is listed
  // once, against the first: 500 lines naming one file make 499 pairs, not 124,750 (issue 16).
  auto whole = [&](const FileUse& use) {
    return use.slot != ExtentAlias::kDescriptor && whole_file_kind(slots[use.slot].line.type);
  };
  std::vector<bool> listed(uses.size(), false);  // paired with an earlier whole-file line already
  for (std::size_t i = 0; i < uses.size(); ++i) {
    if (listed[i]) continue;
    for (std::size_t j = i + 1; j < uses.size() && uses[j].id == uses[i].id; ++j) {
      if (listed[j]) continue;
      const bool sparse_self = uses[i].slot == ExtentAlias::kDescriptor && whole_file_kind(slots[uses[j].slot].line.type);
      if (!sparse_self && uses[i].start < uses[j].end && uses[j].start < uses[i].end) {
        aliases.push_back({uses[i].slot, uses[j].slot, slots[uses[j].slot].path.string()});
        listed[j] = whole(uses[i]) && whole(uses[j]);
      }
    }
  }
  std::sort(aliases.begin(), aliases.end(), [](const ExtentAlias& a, const ExtentAlias& b) {
    return a.first != b.first ? a.first + 1 < b.first + 1 : a.second < b.second;
  });
  return aliases;
}

std::string describe_alias(const std::vector<ExtentSlot>& slots, const ExtentAlias& alias) {
  if (alias.first == ExtentAlias::kDescriptor) {
    return line_name(slots, alias.second) + " uses the descriptor file " + alias.file +
           " itself: a write through it would overwrite the descriptor";
  }
  return line_name(slots, alias.first) + " and " + line_name(slots, alias.second) + " use the same bytes of " +
         alias.file + ": a write through one would change what the other reads";
}

void refuse_extent_aliases(const std::vector<ExtentSlot>& slots, const std::string& descriptor,
                           const std::filesystem::path& descriptor_path) {
  const std::vector<ExtentAlias> aliases = find_extent_aliases(slots, descriptor_path);
  if (aliases.empty()) return;
  throw FormatError(descriptor, describe_alias(slots, aliases.front()) + "; refused (check lists every such pair)");
}

}  // namespace vmdk::disk
