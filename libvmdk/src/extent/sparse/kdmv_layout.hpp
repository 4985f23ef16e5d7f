// Validated geometry of a hosted sparse (KDMV) extent: header (and stream footer) checked against
// vmdk-format.md 7.1, grain directory located (2.4, 3.5). Shared by sparse and stream extents.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "format/grain_directory.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sparse {

struct KdmvLayout {
  std::string name;            ///< file name for messages
  std::uint64_t file_size = 0;  ///< bytes
  format::SparseHeader header;                 ///< sector 0 as on disk
  std::optional<format::SparseHeader> footer;  ///< streams with the directory at the end
  std::uint64_t footer_offset = 0;             ///< byte offset of the footer when present
  format::SparseHeader effective;              ///< the footer when present, else the header
  format::GrainGeometry geometry;
  std::uint64_t grain_bytes = 0;
  std::uint64_t gt_coverage_bytes = 0;
  std::uint64_t capacity_bytes = 0;
  std::uint64_t gd_byte_offset = 0;
  std::uint64_t table_floor_sector = 1;  ///< tables start at or after this (past header/descriptor)
  std::uint64_t grain_floor_sector = 1;  ///< grains start at or after this (overHead)
  bool compressed = false;  ///< flags bit 16
  bool markers = false;     ///< flags bit 17
};

/// Reads sector 0 and checks the magic only. Throws FormatError (short file, wrong magic).
format::SparseHeader read_sparse_header(const ByteSource& file);

/// Reads and validates the header, the footer of GD-at-end streams, and the directory location.
/// Throws FormatError (damage) or UnsupportedError (version, flags, compression) naming the field.
KdmvLayout load_kdmv_layout(const ByteSource& file);

}  // namespace vmdk::sparse
