// Repair of a COWD extent: its scan's findings, its entries located through its layout (4-byte
// sector numbers for tables and grains; 0 and 1 name no grain, vmdk-format.md 4.2.2).
#include "extent/cowd/cowd_repair.hpp"

#include <optional>

#include "extent/cowd/cowd_layout.hpp"
#include "extent/cowd/cowd_scan.hpp"
#include "extent/entry_repair.hpp"
#include "vmdk/error.hpp"

namespace vmdk::cowd {

namespace {

// nullopt when the header itself is damaged: nothing can be located.
std::optional<extent::EntryGeometry> cowd_entry_geometry(const ByteSource& file, std::uint64_t size) {
  extent::EntryGeometry g;
  std::uint64_t entries = 0;
  try {
    const CowdLayout l = load_cowd_layout(file, size);
    g.entry_bytes = 4;
    g.table_entries = format::kCowdGtes;
    g.grain_bytes = l.grain_bytes;
    g.gd_byte_offset = l.gd_byte_offset;
    entries = l.gd_entries_used;
  } catch (const Error&) {
    return std::nullopt;
  }
  g.table_at = [](const extent::EntryGeometry&, std::uint64_t raw) { return raw * format::kSectorSize; };
  g.grain_at = [](const extent::EntryGeometry&, std::uint64_t raw) -> std::optional<std::uint64_t> {
    if (raw <= 1) return std::nullopt;
    return raw * format::kSectorSize;
  };
  // The loader checked that these entries lie inside the file.
  extent::read_entry_directory(file, entries, g);
  return g;
}

}  // namespace

void plan_cowd_repair(const extent::RepairTarget& target, extent::RepairPlan& plan) {
  std::shared_ptr<File> file = File::open(target.path);
  const std::vector<Finding> findings = scan_cowd(file, target.slot_length);
  if (!extent::any_clearable_entry(findings)) return;
  const std::optional<extent::EntryGeometry> geometry = cowd_entry_geometry(*file, target.slot_length);
  if (geometry) extent::plan_entry_clearing(target, *file, *geometry, findings, plan);
}

}  // namespace vmdk::cowd
