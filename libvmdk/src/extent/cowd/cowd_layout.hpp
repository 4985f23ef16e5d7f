// Validated geometry of an ESXi vmfsSparse (COWD) extent: the 2048-byte header checked against
// vmdk-format.md 4.2.1 / 4.2.2 and 7.1, the grain directory located inside the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "extent/damage.hpp"
#include "format/cowd_header.hpp"
#include "vmdk/io.hpp"

namespace vmdk::cowd {

struct CowdLayout {
  std::string name;             ///< file name for messages
  std::uint64_t file_size = 0;  ///< bytes
  format::CowdHeader header;
  std::uint64_t grain_bytes = 0;
  std::uint64_t gt_coverage_bytes = 0;  ///< 4096 grains
  std::uint64_t gd_byte_offset = 0;
  std::uint64_t gd_entries_used = 0;      ///< directory entries covering the descriptor line's size
  std::uint64_t metadata_end_sector = 0;  ///< header and directory end here: tables and grains follow
};

/// Reads and validates the header of a COWD extent that the descriptor line gives size_bytes:
/// magic, version, grain size, capacity (not below the line), directory size and location.
/// Throws FormatError (damage) or UnsupportedError (another version) naming the field's offset.
CowdLayout load_cowd_layout(const ByteSource& file, std::uint64_t size_bytes);

/// The same checks for `check`: a header load_cowd_layout refuses gives nullopt and its damage
/// (codes header_truncated, header_invalid, header_unsupported, header_capacity_mismatch).
/// Throws only IoError.
std::optional<CowdLayout> inspect_cowd_layout(const ByteSource& file, std::uint64_t size_bytes,
                                              extent::Damage& damage);

}  // namespace vmdk::cowd
