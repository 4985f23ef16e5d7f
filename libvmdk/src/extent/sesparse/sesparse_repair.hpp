// Repair of a SESparse extent (vmdk-format.md 4.3.3, 6.5): its damaged directory and table
// entries cleared (extent/entry_repair), located with the regions of its own header.
#pragma once

#include "extent/repair_plan.hpp"

namespace vmdk::sesparse {

/// Scans the SESparse extent target and adds to plan the writes that clear its damaged entries;
/// does nothing when the header cannot be loaded (check says why). Throws IoError.
void plan_sesparse_repair(const extent::RepairTarget& target, extent::RepairPlan& plan);

}  // namespace vmdk::sesparse
