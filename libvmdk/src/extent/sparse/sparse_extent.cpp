// Hosted sparse extent with plain grains (vmdk-format.md 2): the walk and reads live in
// KdmvExtentBase; this adds what `info` shows.
#include "extent/sparse/sparse_extent.hpp"

namespace vmdk::sparse {

ExtentDetails SparseExtent::details() const {
  ExtentDetails d;
  d.format = "sparse";
  d.header = header_fields();
  d.grain_size = layout_.grain_bytes;
  walk(0, size_, [&](const Piece& p) {
    // Count each grain once, at the piece that starts it (pieces never span two grains).
    if (p.state == BlockState::data && p.offset == p.grain_offset) d.allocated_bytes += layout_.grain_bytes;
    return true;
  });
  return d;
}

}  // namespace vmdk::sparse
