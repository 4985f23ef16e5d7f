// Validated geometry of an ESXi SESparse extent: constant and volatile headers checked against
// vmdk-format.md 4.3.1, 4.3.2 and 7.1, regions located inside their bounds and not overlapping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "extent/damage.hpp"
#include "format/sesparse_header.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sesparse {

inline constexpr std::uint64_t kGrainBytes = format::kSesparseGrainSectors * 512;             // 4 KiB
inline constexpr std::uint64_t kTableEntries = format::kSesparseGrainTableSectors * 512 / 8;  // 4096
inline constexpr std::uint64_t kTableBytes = kTableEntries * 8;                               // 32 KiB
inline constexpr std::uint64_t kCoverageBytes = kTableEntries * kGrainBytes;                  // 16 MiB

struct SesparseLayout {
  std::string name;             ///< file name for messages
  std::uint64_t file_size = 0;  ///< bytes
  format::SesparseHeader header;
  format::SesparseVolatileHeader volatile_header;
  std::uint64_t gd_byte_offset = 0;
  std::uint64_t gd_entries_used = 0;  ///< directory entries covering the descriptor line's size
  std::uint64_t gt_byte_offset = 0;   ///< start of the grain tables region
  std::uint64_t gt_count = 0;         ///< tables the region holds
  std::uint64_t grains_byte_offset = 0;
  std::uint64_t grain_slots = 0;  ///< grains the grains region holds
};

/// Reads and validates both headers of a SESparse extent that the descriptor line gives size_bytes.
/// Throws UnsupportedError for valid values this reader does not know (version, grain size, table
/// size, flags, a journal to replay) and FormatError for damage, naming the field's offset.
SesparseLayout load_sesparse_layout(const ByteSource& file, std::uint64_t size_bytes);

/// The same checks for `check`: headers load_sesparse_layout refuses give nullopt and their damage
/// (codes header_truncated, header_invalid, header_unsupported, header_capacity_mismatch,
/// journal_replay_needed). Throws only IoError.
std::optional<SesparseLayout> inspect_sesparse_layout(const ByteSource& file, std::uint64_t size_bytes,
                                                      extent::Damage& damage);

}  // namespace vmdk::sesparse
