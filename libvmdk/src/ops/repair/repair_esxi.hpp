// Repair plans of ESXi delta extents (vmfsSparse/COWD, SESparse; vmdk-format.md 4.2, 4.3, 6.5)
// made from their check findings: damaged grain table and directory entries are cleared.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ops/repair/repair_plan.hpp"
#include "vmdk/finding.hpp"
#include "vmdk/io.hpp"

namespace vmdk::ops {

/// True for the finding codes of COWD and SESparse extents that plan_esxi_repair fixes: grain
/// table entries (invalid, past the end of the file, into metadata, a cut-short grain) and
/// directory entries (invalid, past the end of the file, into metadata, sharing a table).
bool esxi_finding_repairable(std::string_view code);

/// Adds to plan the writes that fix the extent at path (opened as file; format "cowd" or
/// "sesparse", its descriptor line giving slot_length bytes at slot_start of disk) for the
/// findings its scan made: each damaged entry becomes 0 (unallocated), so its range reads from
/// the parent, and is listed as lost. Findings of other codes are left alone. Does nothing when
/// the header cannot be loaded (the scan reported why).
void plan_esxi_repair(const std::filesystem::path& path, const ByteSource& file, std::string_view format,
                      const std::vector<Finding>& findings, const std::string& disk, std::uint64_t slot_start,
                      std::uint64_t slot_length, RepairPlan& plan);

}  // namespace vmdk::ops
