// Repair of a vmfsSparse (COWD) extent (vmdk-format.md 4.2.2, 6.5): its damaged directory and
// table entries cleared (extent/entry_repair), located with the geometry of its own header.
#pragma once

#include "extent/repair_plan.hpp"

namespace vmdk::cowd {

/// Scans the COWD extent target and adds to plan the writes that clear its damaged entries; does
/// nothing when the header cannot be loaded (check says why). Throws IoError.
void plan_cowd_repair(const extent::RepairTarget& target, extent::RepairPlan& plan);

}  // namespace vmdk::cowd
