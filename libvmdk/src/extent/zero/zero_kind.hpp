// The zero kind's entry in the kind table (extent/kind.hpp): ZERO lines, no file.
#pragma once

#include <memory>

#include "extent/kind.hpp"

namespace vmdk::zero {

/// The driver of ZERO extents: ranges without a file that read as zeros.
std::shared_ptr<const extent::ExtentKind> zero_kind();

}  // namespace vmdk::zero
