// consolidate, the switch (vmdk-format.md 6.4 steps 3-4, 1.10): ANCESTOR gets its new CID, TOP's
// children are re-linked to it (parentFileNameHint, parentCID), the merged files are deleted and
// the journal last. Every step is idempotent, so an interrupted switch is simply run again.
#pragma once

#include "ops/common/journal.hpp"
#include "vmdk/disk.hpp"

namespace vmdk::ops {

/// Runs the switch recorded in journal (stage "switch" already stored). Refuses (FormatError naming
/// the journal) when ANCESTOR's CID or a child's parentCID is neither the old nor the new value.
void finish_switch(const Journal& journal, const OpenOptions& open);

}  // namespace vmdk::ops
