// The COWD kind's entry in the kind table (extent/kind.hpp): VMFSSPARSE lines (ESXi vmfsSparse).
#pragma once

#include <memory>

#include "extent/kind.hpp"

namespace vmdk::cowd {

/// The driver of ESXi vmfsSparse (COWD) delta extents.
std::shared_ptr<const extent::ExtentKind> cowd_kind();

}  // namespace vmdk::cowd
