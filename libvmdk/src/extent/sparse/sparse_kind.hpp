// The hosted sparse kind's entry in the kind table (extent/kind.hpp): SPARSE lines whose KDMV
// header has no compression flag (monolithicSparse, twoGbMaxExtentSparse parts, hosted deltas).
#pragma once

#include <memory>

#include "extent/kind.hpp"

namespace vmdk::sparse {

/// The driver of hosted sparse extents with plain grains.
std::shared_ptr<const extent::ExtentKind> sparse_kind();

}  // namespace vmdk::sparse
