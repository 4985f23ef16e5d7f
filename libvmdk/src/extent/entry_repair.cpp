// Repair plan of a COWD or SESparse extent: every damaged directory or table entry is set to 0
// (unallocated: the range reads from the parent, as an empty delta would), and the grains it
// covered are listed as lost (vmdk-format.md 4.2.2, 4.3.3, 6.5). Two entries sharing a grain are
// both cleared: neither range can be trusted to hold its own data, and the grain itself is listed
// as kept (nothing in these files is reclaimed).
#include "extent/entry_repair.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <string>

#include "format/endian.hpp"
#include "vmdk/error.hpp"

namespace vmdk::extent {

namespace {

constexpr std::array<std::string_view, 5> kClearedTableEntryCodes = {
    "gt_entry_invalid", "gt_entry_past_eof", "gt_entry_into_metadata", "grain_truncated", "gt_entries_share_grain"};
constexpr std::array<std::string_view, 4> kClearedDirectoryEntryCodes = {
    "gd_entry_invalid", "gd_entry_past_eof", "gd_entry_into_metadata", "gd_entries_share_table"};

bool is_cleared_table_code(std::string_view code) {
  return std::find(kClearedTableEntryCodes.begin(), kClearedTableEntryCodes.end(), code) !=
         kClearedTableEntryCodes.end();
}
bool is_cleared_directory_code(std::string_view code) {
  return std::find(kClearedDirectoryEntryCodes.begin(), kClearedDirectoryEntryCodes.end(), code) !=
         kClearedDirectoryEntryCodes.end();
}

std::uint64_t load_entry(std::span<const std::uint8_t> bytes, std::uint64_t index, std::uint64_t entry_bytes) {
  return entry_bytes == 4 ? format::load_le32(bytes, index * 4) : format::load_le64(bytes, index * 8);
}

// The clearing of one extent's entries: what is cleared, lost and kept goes to plan.
class EntryClearing {
 public:
  EntryClearing(const RepairTarget& target, const ByteSource& file, const EntryGeometry& g, RepairPlan& plan)
      : target_(target), file_(file), g_(g), plan_(plan) {}

  // Directory entries first: a table whose entry is cleared needs no entry-level fixes.
  void clear_directory_entries(const std::vector<Finding>& findings) {
    const std::uint64_t coverage = g_.table_entries * g_.grain_bytes;
    for (const Finding& f : findings) {
      if (!f.offset || !is_cleared_directory_code(f.code) || *f.offset < g_.gd_byte_offset) continue;
      const std::uint64_t index = (*f.offset - g_.gd_byte_offset) / g_.entry_bytes;
      if (index >= g_.directory.size() || !cleared_directory_.insert(index).second) continue;
      clear(g_.gd_byte_offset + index * g_.entry_bytes, f, "grain directory entry " + std::to_string(index));
      lose(index * coverage, coverage,
           "its grain table was unusable (" + f.code + "); the range reads from the parent");
    }
  }

  void clear_table_entries(const std::vector<Finding>& findings) {
    for (const Finding& f : findings) {
      if (f.offset && is_cleared_table_code(f.code)) clear_table_entry(f);
    }
  }

 private:
  void lose(std::uint64_t start, std::uint64_t length, const std::string& reason) {
    const std::uint64_t end = std::min(target_.slot_length, start + length);
    if (start < end) plan_.lost.push_back({target_.disk, target_.slot_start + start, end - start, reason});
  }

  void clear(std::uint64_t at, const Finding& f, const std::string& what) {
    plan_.metadata.push_back({target_.path, at, std::vector<std::uint8_t>(static_cast<std::size_t>(g_.entry_bytes), 0)});
    plan_.actions.push_back({f.code, target_.path.string(), at, "cleared " + what + " (" + f.message + ")"});
  }

  // The damaged entry f names, found in the table of the directory entry that holds it.
  void clear_table_entry(const Finding& f) {
    const std::uint64_t coverage = g_.table_entries * g_.grain_bytes;
    for (std::uint64_t index = 0; index < g_.directory.size(); ++index) {
      if (g_.directory[index] == 0 || cleared_directory_.count(index) != 0) continue;
      const std::uint64_t table = g_.table_at(g_, g_.directory[index]);
      if (*f.offset < table || *f.offset >= table + g_.table_entries * g_.entry_bytes) continue;
      const std::uint64_t entry = (*f.offset - table) / g_.entry_bytes;
      // A table named twice reports its entries twice.
      if (!cleared_entries_.insert(table + entry * g_.entry_bytes).second) break;
      const std::string name = "grain table " + std::to_string(index) + " entry " + std::to_string(entry);
      if (f.code == "gt_entries_share_grain") keep_shared_grain(table + entry * g_.entry_bytes, name);
      clear(table + entry * g_.entry_bytes, f, name);
      lose(index * coverage + entry * g_.grain_bytes, g_.grain_bytes,
           "its grain table entry was damaged (" + f.code + "); the grain reads from the parent");
      break;
    }
  }

  // A grain two entries shared stays in the file (nothing here reclaims): listed once as kept,
  // naming every entry that pointed at it (which of them owned it is not known).
  void keep_shared_grain(std::uint64_t entry_at, const std::string& entry_name) {
    std::array<std::uint8_t, 8> raw{};
    read_exact(file_, entry_at, std::span(raw).first(static_cast<std::size_t>(g_.entry_bytes)), "grain table entry");
    const std::optional<std::uint64_t> at = g_.grain_at(g_, load_entry(raw, 0, g_.entry_bytes));
    if (!at || *at >= file_.size()) return;
    const std::string file = target_.path.string();
    for (KeptGrain& k : plan_.kept) {
      if (k.file != file || k.offset != *at) continue;
      k.reason += " and " + entry_name;
      return;
    }
    plan_.kept.push_back({file, *at, std::min(g_.grain_bytes, file_.size() - *at), target_.disk, std::nullopt, 0,
                          "a grain table entries shared (all cleared, its bytes stay in the file): " + entry_name,
                          {}});
  }

  const RepairTarget& target_;
  const ByteSource& file_;
  const EntryGeometry& g_;
  RepairPlan& plan_;
  std::set<std::uint64_t> cleared_directory_;
  std::set<std::uint64_t> cleared_entries_;
};

}  // namespace

bool any_clearable_entry(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) {
    return f.offset && (is_cleared_table_code(f.code) || is_cleared_directory_code(f.code));
  });
}

void read_entry_directory(const ByteSource& file, std::uint64_t gd_entries, EntryGeometry& geometry) {
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(gd_entries * geometry.entry_bytes));
  read_exact(file, geometry.gd_byte_offset, bytes, "grain directory");
  for (std::uint64_t i = 0; i < gd_entries; ++i) geometry.directory.push_back(load_entry(bytes, i, geometry.entry_bytes));
}

void plan_entry_clearing(const RepairTarget& target, const ByteSource& file, const EntryGeometry& geometry,
                         const std::vector<Finding>& findings, RepairPlan& plan) {
  EntryClearing clearing(target, file, geometry, plan);
  clearing.clear_directory_entries(findings);
  clearing.clear_table_entries(findings);
}

}  // namespace vmdk::extent
