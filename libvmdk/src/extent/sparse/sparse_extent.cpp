// Hosted sparse extent with plain grains (vmdk-format.md 2): the walk and reads live in
// KdmvExtentBase; this adds what `info` shows.
#include "extent/sparse/sparse_extent.hpp"

#include <algorithm>

#include "extent/field_display.hpp"

namespace vmdk::sparse {

ExtentDetails SparseExtent::details() const {
  ExtentDetails d;
  d.format = "sparse";
  d.header = header_fields();
  extent::set_default_field_display(d);
  d.grain_size = layout_.grain_bytes;
  // Bytes of the file holding grains: each distinct grain once (a hostile directory may name one
  // table, or a table one grain, a million times), and never more than the file holds.
  d.allocated_bytes = allocated_bytes_once([&] {
    // A file that ends where its grains would begin holds none: an entry naming one would be
    // refused when its table is read. A split disk made by create is thousands of such files
    // (8 TiB: 4095 of 4096), and reading their 64 tables each made `info` take seconds.
    if (layout_.file_size <= layout_.grain_floor_sector * 512) return std::uint64_t{0};
    std::uint64_t grains = 0;
    for_each_distinct_grain([&](const Piece&) { ++grains; });
    return std::min(grains * layout_.grain_bytes, layout_.file_size);
  });
  // The allocated size is a one-off walk of every table: info and chain of a split disk would
  // otherwise keep every table of its thousands of extents (8 TiB: 512 MiB).
  tables_.forget_cached();
  return d;
}

}  // namespace vmdk::sparse
