// What check and repair ask of an extent kind, answered by the kind's own folder: whether it has
// a structure-by-structure scan, the scan itself, its repair plan, and where a file that holds its
// own descriptor keeps it. ops/ asks here and names no kind (issue 15).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "extent/repair_plan.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/finding.hpp"
#include "vmdk/io.hpp"

namespace vmdk::extent {

/// True for kinds whose file check scans as a whole, structure by structure (sparse and stream,
/// COWD, SESparse), whether or not the extent opened; others are checked through their reader.
bool has_file_scan(ExtentType type);

/// The findings of the scan of the extent file at path (has_file_scan(type) must hold) that its
/// descriptor line gives length bytes. Damage is a finding; throws IoError for a failing read.
std::vector<Finding> scan_extent_file(ExtentType type, const std::filesystem::path& path, std::uint64_t length);

/// Adds to plan the repairs of the extent file target of kind type (nothing for kinds without a
/// repair of their own). Throws IoError, FormatError when a repair cannot even start.
void plan_extent_repair(ExtentType type, const RepairTarget& target, RepairPlan& plan);

/// Where a file that holds its own descriptor (a monolithic sparse file) keeps it: byte offset and
/// reserved bytes. Throws FormatError when its header cannot be read.
struct DescriptorArea {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
};
DescriptorArea embedded_descriptor_area(const ByteSource& file);

}  // namespace vmdk::extent
