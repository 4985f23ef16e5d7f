// Scan of a SESparse extent for check (vmdk-format.md 4.3.1-4.3.3, 7.1): headers, directory,
// tables, through the checks of sesparse_layout and sesparse_tables with a damage log.
#include "extent/sesparse/sesparse_scan.hpp"

#include "extent/damage.hpp"
#include "extent/sesparse/sesparse_layout.hpp"
#include "extent/sesparse/sesparse_tables.hpp"
#include "extent/sparse/sparse_scan.hpp"

namespace vmdk::sesparse {

std::vector<Finding> scan_sesparse(std::shared_ptr<const ByteSource> file, std::uint64_t size_bytes) {
  const std::string name = file->name();
  extent::DamageLog log(sparse::kMaxFindingsPerFile);
  extent::Damage damage;
  const std::optional<SesparseLayout> layout = inspect_sesparse_layout(*file, size_bytes, damage);
  if (!layout) {
    log.add(std::move(damage));
    return extent::to_findings(name, log);
  }
  const SesparseTables tables(file, *layout, size_bytes, log);
  for (std::uint64_t i = 0; i < tables.directory_size(); ++i) tables.scan_table(i, log);
  return extent::to_findings(name, log);
}

}  // namespace vmdk::sesparse
