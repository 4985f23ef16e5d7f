// consolidate, the copy (vmdk-format.md 6.4 step 2, 2.8): every ANCESTOR grain that holds a range
// owned above it gets, once, the content TOP's chain reads there. The layers above keep hiding
// these grains until the switch, so TOP reads the same data whenever the copy is interrupted.
#pragma once

#include "ops/consolidate/consolidate_plan.hpp"
#include "vmdk/ops.hpp"

namespace vmdk::ops {

/// Writes the merge into ANCESTOR and makes it durable (grain data, fsync, tables, fsync).
/// Throws IoError, FormatError, UsageError.
void copy_merge(const MergePlan& plan, const ProgressCallback& progress);

}  // namespace vmdk::ops
