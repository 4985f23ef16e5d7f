// The SESparse kind's entry in the kind table (extent/kind.hpp): SESPARSE lines (ESXi seSparse).
#pragma once

#include <memory>

#include "extent/kind.hpp"

namespace vmdk::sesparse {

/// The driver of ESXi SESparse delta extents.
std::shared_ptr<const extent::ExtentKind> sesparse_kind();

}  // namespace vmdk::sesparse
