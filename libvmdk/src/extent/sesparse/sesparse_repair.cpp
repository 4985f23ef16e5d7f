// Repair of a SESparse extent: its scan's findings, its entries located through its layout
// (8-byte entries; a directory entry's low half numbers a table in the tables region, an
// allocated table entry a grain slot in the grains region, vmdk-format.md 4.3.3).
#include "extent/sesparse/sesparse_repair.hpp"

#include <optional>

#include "extent/entry_repair.hpp"
#include "extent/sesparse/sesparse_layout.hpp"
#include "extent/sesparse/sesparse_scan.hpp"
#include "format/sesparse_entry.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sesparse {

namespace {

// nullopt when the headers themselves are damaged: nothing can be located.
std::optional<extent::EntryGeometry> sesparse_entry_geometry(const ByteSource& file, std::uint64_t size) {
  extent::EntryGeometry g;
  std::uint64_t entries = 0;
  try {
    const SesparseLayout l = load_sesparse_layout(file, size);
    g.entry_bytes = 8;
    g.table_entries = kTableEntries;
    g.grain_bytes = kGrainBytes;
    g.gd_byte_offset = l.gd_byte_offset;
    g.gt_byte_offset = l.gt_byte_offset;
    g.grains_byte_offset = l.grains_byte_offset;
    entries = l.gd_entries_used;
  } catch (const Error&) {
    return std::nullopt;
  }
  g.table_at = [](const extent::EntryGeometry& self, std::uint64_t raw) {
    return self.gt_byte_offset + (raw & 0xffffffffu) * kTableBytes;
  };
  g.grain_at = [](const extent::EntryGeometry& self, std::uint64_t raw) -> std::optional<std::uint64_t> {
    if (format::sesparse_entry_type(raw) != format::kSesparseTypeAllocated) return std::nullopt;
    return self.grains_byte_offset + format::sesparse_entry_slot(raw) * self.grain_bytes;
  };
  // The loader checked that these entries lie inside the file.
  extent::read_entry_directory(file, entries, g);
  return g;
}

}  // namespace

void plan_sesparse_repair(const extent::RepairTarget& target, extent::RepairPlan& plan) {
  std::shared_ptr<File> file = File::open(target.path);
  const std::vector<Finding> findings = scan_sesparse(file, target.slot_length);
  if (!extent::any_clearable_entry(findings)) return;
  const std::optional<extent::EntryGeometry> geometry = sesparse_entry_geometry(*file, target.slot_length);
  if (geometry) extent::plan_entry_clearing(target, *file, *geometry, findings, plan);
}

}  // namespace vmdk::sesparse
