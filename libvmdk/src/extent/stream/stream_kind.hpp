// The streamOptimized kind's entry in the kind table (extent/kind.hpp): SPARSE lines whose KDMV
// header carries the compression flag.
#pragma once

#include <memory>

#include "extent/kind.hpp"

namespace vmdk::stream {

/// The driver of compressed hosted sparse extents (streamOptimized and compressed-grain files).
std::shared_ptr<const extent::ExtentKind> stream_kind();

}  // namespace vmdk::stream
