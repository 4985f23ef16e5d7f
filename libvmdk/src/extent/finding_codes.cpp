// The finding code registry (finding_codes.hpp): one row per code, in the order of
// docs/json-output.md's table. Adding a code here and there is all a new finding needs.
#include "extent/finding_codes.hpp"

#include <algorithm>
#include <array>
#include <cassert>

namespace vmdk {

namespace {

constexpr Severity kCorrupt = Severity::corruption;

constexpr std::array kFindingCodeTable = {
    FindingCode{"descriptor_invalid", kCorrupt, false, "a descriptor or a parent file cannot be parsed or opened"},
    FindingCode{"unsupported", kCorrupt, false, "PATH is of a kind this version cannot open"},
    FindingCode{"header_truncated", kCorrupt, false, "an extent header is cut short"},
    FindingCode{"header_invalid", kCorrupt, false, "an extent header has a field out of range"},
    FindingCode{"header_unsupported", kCorrupt, false, "an extent header has a version or feature this version does not read"},
    FindingCode{"header_capacity_mismatch", kCorrupt, false, "the header's capacity disagrees with the extent line"},
    FindingCode{"journal_replay_needed", kCorrupt, false, "a SESparse journal must be replayed (not closed cleanly)"},
    FindingCode{"unclean_shutdown", Severity::warning, true, "the header's unclean shutdown byte is set"},
    FindingCode{"file_shorter_than_overhead", kCorrupt, true, "the file ends before overHead"},
    FindingCode{"embedded_descriptor_overflow", kCorrupt, false, "the embedded descriptor fills its sectors without an end"},
    FindingCode{"file_size_unaligned", kCorrupt, false, "bytes were inserted into or removed from a sparse file"},
    FindingCode{"rgd_offset_invalid", kCorrupt, false, "the redundant directory offset is out of range"},
    FindingCode{"gd_entry_past_eof", kCorrupt, true, "a directory entry points past the end of the file"},
    FindingCode{"gd_entry_into_metadata", kCorrupt, true, "a directory entry points into metadata"},
    FindingCode{"gd_entries_share_table", kCorrupt, true, "two entries of a directory name one table"},
    FindingCode{"gd_rgd_share_table", kCorrupt, true, "the two directories name one table"},
    FindingCode{"gd_entry_invalid", kCorrupt, true, "a SESparse directory entry is malformed"},
    FindingCode{"gd_copies_differ", kCorrupt, true, "one directory has a table where the other has none"},
    FindingCode{"gt_entry_past_eof", kCorrupt, true, "a grain table entry points past the end of the file"},
    FindingCode{"gt_entry_into_metadata", kCorrupt, true, "a grain table entry points into metadata"},
    FindingCode{"gt_entry_invalid", kCorrupt, true, "a SESparse grain table entry is malformed"},
    FindingCode{"grain_truncated", kCorrupt, true, "a grain is cut short by the end of the file"},
    FindingCode{"gt_copies_differ", kCorrupt, true, "the two copies of a grain table disagree"},
    FindingCode{"gt_entries_share_grain", kCorrupt, true, "two grain table entries point at one grain"},
    FindingCode{"leaked_grains", Severity::leak, true, "grain-sized space in the file that no entry uses"},
    FindingCode{"grain_marker_invalid", kCorrupt, true, "a compressed grain's record is damaged or cut short"},
    FindingCode{"grain_data_corrupt", kCorrupt, true, "a compressed grain's data does not decompress to one grain"},
    FindingCode{"stream_footer_invalid", kCorrupt, true, "a directory-at-end stream has no usable footer"},
    FindingCode{"extent_missing", kCorrupt, false, "an extent file is missing"},
    FindingCode{"extent_short", kCorrupt, false, "an extent file is shorter than its line"},
    FindingCode{"extent_path_refused", kCorrupt, false, "an extent path is refused (outside the folder, not a disk file)"},
    FindingCode{"extent_unsupported", kCorrupt, false, "an extent kind this version cannot read"},
    FindingCode{"extents_share_file", kCorrupt, false, "two extent lines of one disk use the same bytes of one file"},
    FindingCode{"layers_share_file", kCorrupt, false, "two layers of the chain use one file"},
    FindingCode{"extent_damaged", kCorrupt, false, "an extent failed to open or to map"},
    FindingCode{"cid_mismatch", kCorrupt, true, "parentCID differs from the parent's CID (repair needs --accept-cid-mismatch)"},
    FindingCode{"parent_missing", kCorrupt, true, "the parent is not where the hint says"},
    FindingCode{"parent_outside_folder", kCorrupt, false, "the parent hint leads outside the child's folder"},
    FindingCode{"parent_hint_absolute", Severity::warning, true, "the parent hint is an absolute path"},
    FindingCode{"capacity_mismatch", kCorrupt, false, "a parent of another size"},
    FindingCode{"chain_cycle", kCorrupt, false, "a chain that loops"},
    FindingCode{"consolidation_interrupted", kCorrupt, true, "a consolidation journal names a layer of this chain"},
    FindingCode{"consolidation_journal_invalid", kCorrupt, false, "a consolidation journal beside a layer cannot be read"},
    FindingCode{"more_findings", kCorrupt, false, "more findings of one file than are listed (the message counts them)"},
};

constexpr std::array<std::string_view, 4> kRepairActionOnlyCodes = {"gd_entry_cleared", "grain_table_moved",
                                                                    "grain_table_rewritten", "grain_table_restored"};

}  // namespace

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::corruption: return "corruption";
    case Severity::leak: return "leak";
    case Severity::warning: return "warning";
  }
  return "unknown";
}

std::span<const FindingCode> finding_codes() { return kFindingCodeTable; }

const FindingCode* find_finding_code(std::string_view code) {
  const auto found = std::find_if(kFindingCodeTable.begin(), kFindingCodeTable.end(),
                                  [&](const FindingCode& entry) { return entry.code == code; });
  return found == kFindingCodeTable.end() ? nullptr : &*found;
}

std::span<const std::string_view> repair_action_codes() { return kRepairActionOnlyCodes; }

Finding make_finding(std::string_view code, std::string file, std::optional<std::uint64_t> offset,
                     std::string message) {
  const FindingCode* entry = find_finding_code(code);
  assert(entry != nullptr && "finding code missing from extent/finding_codes.cpp");
  return {std::string(code), entry ? entry->severity : Severity::corruption, std::move(file), offset,
          std::move(message), entry ? entry->repairable : false};
}

}  // namespace vmdk
