// Codec of the ESXi SESparse constant header (sector 0) and volatile header (vmdk-format.md 4.3.1,
// 4.3.2): 512-byte structures of little-endian u64 fields, driven by their field tables.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "format/sparse_header.hpp"  // FieldInfo

namespace vmdk::format {

inline constexpr std::size_t kSesparseHeaderSize = 512;
inline constexpr std::uint64_t kSesparseMagic = 0x00000000CAFEBABEull;
inline constexpr std::uint64_t kSesparseVolatileMagic = 0x00000000CAFECAFEull;
/// "2.1": the only version QEMU opens (major in the high half).
inline constexpr std::uint64_t kSesparseVersion = 0x0000000200000001ull;
inline constexpr std::uint64_t kSesparseGrainSectors = 8;        // 4 KiB grains
inline constexpr std::uint64_t kSesparseGrainTableSectors = 64;  // 4096 u64 entries per table
/// "Maximum disk size: just under 64 TB" (vmdk-format.md 4.3.3): 2^37 sectors.
inline constexpr std::uint64_t kSesparseMaxCapacitySectors = 1ull << 37;

/// Constant header fields in on-disk order; every field is a u64. The 304-byte pad at 208 (zero)
/// is not listed. All offsets and sizes are in sectors.
inline constexpr std::array<FieldInfo, 26> kSesparseHeaderFields{{
    {"magic", 0, 8},
    {"version", 8, 8},
    {"capacity", 16, 8},
    {"grain_size", 24, 8},
    {"grain_table_size", 32, 8},
    {"flags", 40, 8},
    {"reserved1", 48, 8},
    {"reserved2", 56, 8},
    {"reserved3", 64, 8},
    {"reserved4", 72, 8},
    {"volatile_header_offset", 80, 8},
    {"volatile_header_size", 88, 8},
    {"journal_header_offset", 96, 8},
    {"journal_header_size", 104, 8},
    {"journal_offset", 112, 8},
    {"journal_size", 120, 8},
    {"grain_dir_offset", 128, 8},
    {"grain_dir_size", 136, 8},
    {"grain_tables_offset", 144, 8},
    {"grain_tables_size", 152, 8},
    {"free_bitmap_offset", 160, 8},
    {"free_bitmap_size", 168, 8},
    {"backmap_offset", 176, 8},
    {"backmap_size", 184, 8},
    {"grains_offset", 192, 8},
    {"grains_size", 200, 8},
}};
inline constexpr std::size_t kSesparsePadOffset = 208;

/// Volatile header fields (at volatile_header_offset); the 480-byte pad at 32 (zero) is not listed.
inline constexpr std::array<FieldInfo, 4> kSesparseVolatileFields{{
    {"magic", 0, 8},
    {"free_gt_number", 8, 8},
    {"next_txn_seq_number", 16, 8},
    {"replay_journal", 24, 8},
}};
inline constexpr std::size_t kSesparseVolatilePadOffset = 32;

/// The field named `name` of each table; UsageError for an unknown name (a programming error).
const FieldInfo& sesparse_header_field(std::string_view name);
const FieldInfo& sesparse_volatile_field(std::string_view name);

/// The constant header; defaults are the values QEMU requires, regions left 0.
struct SesparseHeader {
  std::uint64_t magic = kSesparseMagic;
  std::uint64_t version = kSesparseVersion;
  std::uint64_t capacity = 0;  ///< sectors
  std::uint64_t grain_size = kSesparseGrainSectors;
  std::uint64_t grain_table_size = kSesparseGrainTableSectors;
  std::uint64_t flags = 0;
  std::uint64_t reserved1 = 0;
  std::uint64_t reserved2 = 0;
  std::uint64_t reserved3 = 0;
  std::uint64_t reserved4 = 0;
  std::uint64_t volatile_header_offset = 0;
  std::uint64_t volatile_header_size = 0;
  std::uint64_t journal_header_offset = 0;
  std::uint64_t journal_header_size = 0;
  std::uint64_t journal_offset = 0;
  std::uint64_t journal_size = 0;
  std::uint64_t grain_dir_offset = 0;
  std::uint64_t grain_dir_size = 0;
  std::uint64_t grain_tables_offset = 0;
  std::uint64_t grain_tables_size = 0;
  std::uint64_t free_bitmap_offset = 0;
  std::uint64_t free_bitmap_size = 0;
  std::uint64_t backmap_offset = 0;
  std::uint64_t backmap_size = 0;
  std::uint64_t grains_offset = 0;
  std::uint64_t grains_size = 0;
  bool pad_zero = true;  ///< decode: bytes 208..511 were all zero (QEMU refuses the file otherwise)

  bool operator==(const SesparseHeader&) const = default;

  /// Value of the field named like kSesparseHeaderFields; UsageError for an unknown name.
  std::uint64_t field(std::string_view name) const;
  void set_field(std::string_view name, std::uint64_t value);
};

struct SesparseVolatileHeader {
  std::uint64_t magic = kSesparseVolatileMagic;
  std::uint64_t free_gt_number = 0;       ///< next unused grain table index
  std::uint64_t next_txn_seq_number = 0;  ///< journal transaction counter
  std::uint64_t replay_journal = 0;       ///< non-zero: the journal must be replayed (dirty image)
  bool pad_zero = true;                   ///< decode: bytes 32..511 were all zero

  bool operator==(const SesparseVolatileHeader&) const = default;

  std::uint64_t field(std::string_view name) const;
  void set_field(std::string_view name, std::uint64_t value);
};

/// True when bytes start with the 8-byte SESparse magic (needs at least 8 bytes, else false).
bool has_sesparse_magic(std::span<const std::uint8_t> bytes);

/// Decode the first 512 bytes as if padded with zeros (fields beyond the span read as zero).
/// Validate nothing.
SesparseHeader decode_sesparse_header(std::span<const std::uint8_t> bytes);
SesparseVolatileHeader decode_sesparse_volatile_header(std::span<const std::uint8_t> bytes);

/// Encode 512 bytes, pad zero (pad_zero is not encoded).
std::array<std::uint8_t, kSesparseHeaderSize> encode_sesparse_header(const SesparseHeader& header);
std::array<std::uint8_t, kSesparseHeaderSize> encode_sesparse_volatile_header(
    const SesparseVolatileHeader& header);

}  // namespace vmdk::format
