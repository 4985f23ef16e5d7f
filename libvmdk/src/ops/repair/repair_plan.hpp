// What a repair will write, collected before the first write so that every overwritten byte can
// be saved for undo first, then applied in the crash-safe order of DESIGN.md: data, fsync,
// tables and directories, fsync, truncations, header flags, descriptors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "extent/repair_plan.hpp"
#include "ops/common/descriptor_store.hpp"
#include "ops/repair/undo_log.hpp"
#include "vmdk/repair.hpp"

namespace vmdk::ops {

using PlannedWrite = extent::PlannedWrite;

struct PlannedDescriptor {
  DescriptorHome home;
  std::string text;
};

/// The extent changes the kinds planned plus the descriptor edits of link repairs.
struct RepairPlan : extent::RepairPlan {
  std::vector<PlannedDescriptor> descriptors;

  bool writes_nothing() const {
    return data.empty() && metadata.empty() && truncations.empty() && headers.empty() && descriptors.empty();
  }
};

/// Saves into log every byte range plan will overwrite or cut off.
void save_for_undo(const RepairPlan& plan, UndoLog& log);

/// Applies plan in its phases, fsyncing each file between them. Throws IoError.
void apply_plan(const RepairPlan& plan);

}  // namespace vmdk::ops
