// Hosted sparse extent with plain grains (vmdk-format.md 2): the walk and reads live in
// KdmvExtentBase; this adds what `info` shows.
#include "extent/sparse/sparse_extent.hpp"

#include "extent/field_display.hpp"

namespace vmdk::sparse {

ExtentDetails SparseExtent::details() const {
  ExtentDetails d;
  d.format = "sparse";
  d.header = header_fields();
  extent::set_default_field_display(d);
  d.grain_size = layout_.grain_bytes;
  walk(0, size_, [&](const Piece& p) {
    // Count every grain whose start lies in the piece (a piece may cover several grains).
    if (p.state == BlockState::data) {
      const std::uint64_t g = layout_.grain_bytes;
      const std::uint64_t first = (p.offset + g - 1) / g;
      const std::uint64_t end = (p.offset + p.length + g - 1) / g;
      d.allocated_bytes += (end - first) * g;
    }
    return true;
  });
  // The allocated size is a one-off walk of every table: info and chain of a split disk would
  // otherwise keep every table of its thousands of extents (8 TiB: 512 MiB).
  tables_.forget_cached();
  return d;
}

}  // namespace vmdk::sparse
