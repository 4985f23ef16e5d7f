// Repair of extents whose damaged directory and table entries are cleared (COWD, SESparse;
// vmdk-format.md 4.2.2, 4.3.3, 6.5): each kind describes where its entries are (EntryGeometry)
// and this plans the clearing from the kind's check findings.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "extent/repair_plan.hpp"
#include "vmdk/finding.hpp"
#include "vmdk/io.hpp"

namespace vmdk::extent {

/// Where one kind keeps its directory and tables, reduced to what locating an entry needs.
struct EntryGeometry {
  std::uint64_t entry_bytes = 0;     ///< 4 (COWD) or 8 (SESparse)
  std::uint64_t table_entries = 0;   ///< entries of one grain table
  std::uint64_t grain_bytes = 0;
  std::uint64_t gd_byte_offset = 0;
  std::vector<std::uint64_t> directory;  ///< raw entries covering the extent
  /// Byte offset of the table a raw (non-zero) directory entry names.
  std::uint64_t (*table_at)(const EntryGeometry&, std::uint64_t raw) = nullptr;
  std::uint64_t gt_byte_offset = 0;  ///< SESparse: start of the tables region
  /// Byte offset of the grain a raw table entry names (nullopt: not an allocated grain).
  std::optional<std::uint64_t> (*grain_at)(const EntryGeometry&, std::uint64_t raw) = nullptr;
  std::uint64_t grains_byte_offset = 0;  ///< SESparse: start of the grains region
};

/// True when some finding is a located damaged entry that plan_entry_clearing clears.
bool any_clearable_entry(const std::vector<Finding>& findings);

/// Reads the directory entries geometry covers (gd_entries of them, checked by the kind's loader
/// to lie inside the file) into geometry.directory. Throws IoError.
void read_entry_directory(const ByteSource& file, std::uint64_t gd_entries, EntryGeometry& geometry);

/// Adds to plan the writes that fix the extent target (opened as file) for the findings its scan
/// made: each damaged entry becomes 0 (unallocated), so its range reads from the parent, and is
/// listed as lost; a grain two entries shared is listed as kept. Findings of other codes are
/// left alone.
void plan_entry_clearing(const RepairTarget& target, const ByteSource& file, const EntryGeometry& geometry,
                         const std::vector<Finding>& findings, RepairPlan& plan);

}  // namespace vmdk::extent
