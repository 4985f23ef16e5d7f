// Parent-link repairs of one chain layer (vmdk-format.md 6.5): planned, not yet written.
#pragma once

#include <cstddef>
#include <vector>

#include "ops/repair/repair_plan.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/repair.hpp"

namespace vmdk::ops {

/// Adds to plan the descriptor edit that fixes the link of layer depth of chain: a missing parent
/// (options.parent, or the one disk with the wanted CID and capacity in the delta's folder and the
/// search folders), an absolute hint (made relative), a CID mismatch (with accept_cid_mismatch).
/// What it cannot fix goes to left with the reason. Throws IoError, FormatError for --parent.
void plan_link_repair(const Chain& chain, std::size_t depth, const RepairOptions& options, RepairPlan& plan,
                      std::vector<Finding>& left);

}  // namespace vmdk::ops
