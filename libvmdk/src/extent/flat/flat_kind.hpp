// The flat kind's entry in the kind table (extent/kind.hpp): FLAT and VMFS lines, data in place.
#pragma once

#include <memory>

#include "extent/kind.hpp"

namespace vmdk::flat {

/// The driver of flat extents (monolithicFlat, twoGbMaxExtentFlat parts, vmfs and vmfsThin data).
std::shared_ptr<const extent::ExtentKind> flat_kind();

}  // namespace vmdk::flat
