// Scan of a SESparse extent for check (vmdk-format.md 4.3.1-4.3.3, 7.1): headers, directory,
// tables and grains used by two entries, through the checks of sesparse_layout and sesparse_tables
// with a damage log.
#include "extent/sesparse/sesparse_scan.hpp"

#include <algorithm>

#include "extent/damage.hpp"
#include "extent/grain_overlaps.hpp"
#include "extent/sesparse/sesparse_layout.hpp"
#include "extent/sesparse/sesparse_tables.hpp"

namespace vmdk::sesparse {

std::vector<Finding> scan_sesparse(std::shared_ptr<const ByteSource> file, std::uint64_t size_bytes) {
  const std::string name = file->name();
  extent::DamageLog log(extent::kMaxFindingsPerFile);
  extent::Damage damage;
  const std::optional<SesparseLayout> layout = inspect_sesparse_layout(*file, size_bytes, damage);
  if (!layout) {
    log.add(std::move(damage));
    return extent::to_findings(name, log);
  }
  const SesparseTables tables(file, *layout, size_bytes, log);
  // Good entries end inside the file, so the slots past it need no bits (grains_size in the header
  // may describe a far larger region than the file holds).
  const std::uint64_t slots_in_file =
      layout->file_size > layout->grains_byte_offset ? (layout->file_size - layout->grains_byte_offset) / kGrainBytes + 1 : 0;
  extent::GrainOverlaps overlaps(std::min(layout->grain_slots, slots_in_file));
  for (std::uint64_t i = 0; i < tables.directory_size(); ++i) tables.scan_table(i, log, &overlaps);
  tables.report_shared_grains(overlaps, log);
  return extent::to_findings(name, log);
}

}  // namespace vmdk::sesparse
