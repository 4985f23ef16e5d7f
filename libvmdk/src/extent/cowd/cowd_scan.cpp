// Scan of a COWD extent for check (vmdk-format.md 4.2.1, 4.2.2, 7.1): header, directory, tables and
// grains used by two entries, through the checks of cowd_layout and cowd_tables with a damage log
// instead of exceptions.
#include "extent/cowd/cowd_scan.hpp"

#include "extent/cowd/cowd_layout.hpp"
#include "extent/cowd/cowd_tables.hpp"
#include "extent/damage.hpp"
#include "extent/grain_overlaps.hpp"
#include "io/checked_math.hpp"

namespace vmdk::cowd {

std::vector<Finding> scan_cowd(std::shared_ptr<const ByteSource> file, std::uint64_t size_bytes) {
  const std::string name = file->name();
  extent::DamageLog log(extent::kMaxFindingsPerFile);
  extent::Damage damage;
  const std::optional<CowdLayout> layout = inspect_cowd_layout(*file, size_bytes, damage);
  if (!layout) {
    log.add(std::move(damage));
    return extent::to_findings(name, log);
  }
  const CowdTables tables(file, *layout, size_bytes, log);
  extent::GrainOverlaps overlaps(vmdk::div_round_up(layout->file_size, format::kSectorSize));
  for (std::uint64_t i = 0; i < tables.directory_size(); ++i) tables.scan_table(i, log, &overlaps);
  tables.report_shared_grains(overlaps, log);
  return extent::to_findings(name, log);
}

}  // namespace vmdk::cowd
