// Hosted sparse extent with plain (uncompressed) grains: monolithicSparse, twoGbMaxExtentSparse
// parts and hosted deltas, versions 1-3 (vmdk-format.md 2).
#pragma once

#include "extent/sparse/kdmv_extent.hpp"

namespace vmdk::sparse {

class SparseExtent final : public KdmvExtentBase {
 public:
  /// layout comes from load_kdmv_layout and must not be compressed.
  SparseExtent(std::shared_ptr<const ByteSource> file, KdmvLayout layout, std::uint64_t size_bytes)
      : KdmvExtentBase(std::move(file), std::move(layout), size_bytes) {}

  /// format "sparse"; allocated_bytes = grains referenced inside the extent x grain size.
  ExtentDetails details() const override;
};

}  // namespace vmdk::sparse
