// Repair plan of a COWD or SESparse extent: every damaged directory or table entry is set to 0
// (unallocated: the range reads from the parent, as an empty delta would), and the grains it
// covered are listed as lost (vmdk-format.md 4.2.2, 4.3.3, 6.5). Two entries sharing a grain are
// both cleared: neither range can be trusted to hold its own data, and the grain itself is listed
// as kept (nothing in these files is reclaimed).
#include "ops/repair/repair_esxi.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <set>

#include "extent/cowd/cowd_layout.hpp"
#include "extent/sesparse/sesparse_layout.hpp"
#include "format/cowd_header.hpp"
#include "format/endian.hpp"
#include "format/sesparse_entry.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace {

constexpr std::array<std::string_view, 5> kTableEntryCodes = {"gt_entry_invalid", "gt_entry_past_eof",
                                                             "gt_entry_into_metadata", "grain_truncated",
                                                             "gt_entries_share_grain"};
constexpr std::array<std::string_view, 4> kDirectoryEntryCodes = {"gd_entry_invalid", "gd_entry_past_eof",
                                                                 "gd_entry_into_metadata", "gd_entries_share_table"};

bool is_table_code(std::string_view code) {
  return std::find(kTableEntryCodes.begin(), kTableEntryCodes.end(), code) != kTableEntryCodes.end();
}
bool is_directory_code(std::string_view code) {
  return std::find(kDirectoryEntryCodes.begin(), kDirectoryEntryCodes.end(), code) != kDirectoryEntryCodes.end();
}

// Where one kind keeps its directory and tables, reduced to what locating an entry needs.
struct Geometry {
  std::uint64_t entry_bytes = 0;     // 4 (COWD) or 8 (SESparse)
  std::uint64_t table_entries = 0;   // 4096 for both
  std::uint64_t grain_bytes = 0;
  std::uint64_t gd_byte_offset = 0;
  std::vector<std::uint64_t> directory;  // raw entries covering the extent
  // Byte offset of the table a raw directory entry names, nullopt for 0.
  std::uint64_t (*table_at)(const Geometry&, std::uint64_t raw) = nullptr;
  std::uint64_t gt_byte_offset = 0;  // SESparse: start of the tables region
  // Byte offset of the grain a raw table entry names (nullopt: not an allocated grain).
  std::optional<std::uint64_t> (*grain_at)(const Geometry&, std::uint64_t raw) = nullptr;
  std::uint64_t grains_byte_offset = 0;  // SESparse: start of the grains region
};

std::optional<Geometry> load_geometry(const ByteSource& file, std::string_view format, std::uint64_t size) {
  Geometry g;
  std::uint64_t entries = 0;
  try {
    if (format == "cowd") {
      const cowd::CowdLayout l = cowd::load_cowd_layout(file, size);
      g.entry_bytes = 4;
      g.table_entries = format::kCowdGtes;
      g.grain_bytes = l.grain_bytes;
      g.gd_byte_offset = l.gd_byte_offset;
      entries = l.gd_entries_used;
      g.table_at = [](const Geometry&, std::uint64_t raw) { return raw * format::kSectorSize; };
      g.grain_at = [](const Geometry&, std::uint64_t raw) -> std::optional<std::uint64_t> {
        if (raw <= 1) return std::nullopt;
        return raw * format::kSectorSize;
      };
    } else {
      const sesparse::SesparseLayout l = sesparse::load_sesparse_layout(file, size);
      g.entry_bytes = 8;
      g.table_entries = sesparse::kTableEntries;
      g.grain_bytes = sesparse::kGrainBytes;
      g.gd_byte_offset = l.gd_byte_offset;
      g.gt_byte_offset = l.gt_byte_offset;
      entries = l.gd_entries_used;
      g.table_at = [](const Geometry& self, std::uint64_t raw) {
        return self.gt_byte_offset + (raw & 0xffffffffu) * sesparse::kTableBytes;
      };
      g.grains_byte_offset = l.grains_byte_offset;
      g.grain_at = [](const Geometry& self, std::uint64_t raw) -> std::optional<std::uint64_t> {
        if (format::sesparse_entry_type(raw) != format::kSesparseTypeAllocated) return std::nullopt;
        return self.grains_byte_offset + format::sesparse_entry_slot(raw) * self.grain_bytes;
      };
    }
  } catch (const Error&) {
    return std::nullopt;  // the header itself is damaged: nothing can be located
  }
  // The loaders checked that these entries lie inside the file.
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(entries * g.entry_bytes));
  read_exact(file, g.gd_byte_offset, bytes, "grain directory");
  for (std::uint64_t i = 0; i < entries; ++i) {
    g.directory.push_back(g.entry_bytes == 4 ? format::load_le32(bytes, i * 4) : format::load_le64(bytes, i * 8));
  }
  return g;
}

}  // namespace

bool esxi_finding_repairable(std::string_view code) { return is_table_code(code) || is_directory_code(code); }

void plan_esxi_repair(const std::filesystem::path& path, const ByteSource& file, std::string_view format,
                      const std::vector<Finding>& findings, const std::string& disk, std::uint64_t slot_start,
                      std::uint64_t slot_length, RepairPlan& plan) {
  const bool any = std::any_of(findings.begin(), findings.end(),
                               [](const Finding& f) { return f.offset && esxi_finding_repairable(f.code); });
  if (!any) return;
  const std::optional<Geometry> g = load_geometry(file, format, slot_length);
  if (!g) return;
  const std::uint64_t coverage = g->table_entries * g->grain_bytes;
  std::set<std::uint64_t> cleared_directory;
  std::set<std::uint64_t> cleared_entries;  // a table named twice reports its entries twice
  auto lose = [&](std::uint64_t start, std::uint64_t length, const std::string& reason) {
    const std::uint64_t end = std::min(slot_length, start + length);
    if (start < end) plan.lost.push_back({disk, slot_start + start, end - start, reason});
  };
  auto clear = [&](std::uint64_t at, const Finding& f, const std::string& what) {
    plan.metadata.push_back({path, at, std::vector<std::uint8_t>(static_cast<std::size_t>(g->entry_bytes), 0)});
    plan.actions.push_back({f.code, path.string(), at, "cleared " + what + " (" + f.message + ")"});
  };
  // A grain two entries shared stays in the file (nothing here reclaims): listed once as kept,
  // naming every entry that pointed at it (which of them owned it is not known).
  auto keep_shared_grain = [&](const Geometry& geometry, std::uint64_t entry_at, const std::string& entry_name) {
    std::array<std::uint8_t, 8> raw{};
    read_exact(file, entry_at, std::span(raw).first(static_cast<std::size_t>(geometry.entry_bytes)),
               "grain table entry");
    const std::uint64_t value = geometry.entry_bytes == 4 ? format::load_le32(raw, 0) : format::load_le64(raw, 0);
    const std::optional<std::uint64_t> at = geometry.grain_at(geometry, value);
    if (!at || *at >= file.size()) return;
    for (KeptGrain& k : plan.kept) {
      if (k.file != path.string() || k.offset != *at) continue;
      k.reason += " and " + entry_name;
      return;
    }
    plan.kept.push_back({path.string(), *at, std::min(geometry.grain_bytes, file.size() - *at), disk, std::nullopt,
                         0, "a grain table entries shared (all cleared, its bytes stay in the file): " + entry_name,
                         {}});
  };
  // Directory entries first: a table whose entry is cleared needs no entry-level fixes.
  for (const Finding& f : findings) {
    if (!f.offset || !is_directory_code(f.code) || *f.offset < g->gd_byte_offset) continue;
    const std::uint64_t index = (*f.offset - g->gd_byte_offset) / g->entry_bytes;
    if (index >= g->directory.size() || !cleared_directory.insert(index).second) continue;
    clear(g->gd_byte_offset + index * g->entry_bytes, f, "grain directory entry " + std::to_string(index));
    lose(index * coverage, coverage, "its grain table was unusable (" + f.code + "); the range reads from the parent");
  }
  for (const Finding& f : findings) {
    if (!f.offset || !is_table_code(f.code)) continue;
    // The directory entry whose table holds the damaged entry.
    for (std::uint64_t index = 0; index < g->directory.size(); ++index) {
      if (g->directory[index] == 0 || cleared_directory.count(index) != 0) continue;
      const std::uint64_t table = g->table_at(*g, g->directory[index]);
      if (*f.offset < table || *f.offset >= table + g->table_entries * g->entry_bytes) continue;
      const std::uint64_t entry = (*f.offset - table) / g->entry_bytes;
      if (!cleared_entries.insert(table + entry * g->entry_bytes).second) break;
      if (f.code == "gt_entries_share_grain") {
        keep_shared_grain(*g, table + entry * g->entry_bytes,
                          "grain table " + std::to_string(index) + " entry " + std::to_string(entry));
      }
      clear(table + entry * g->entry_bytes, f,
            "grain table " + std::to_string(index) + " entry " + std::to_string(entry));
      lose(index * coverage + entry * g->grain_bytes, g->grain_bytes,
           "its grain table entry was damaged (" + f.code + "); the grain reads from the parent");
      break;
    }
  }
}

}  // namespace vmdk::ops
