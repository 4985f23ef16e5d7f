// Codec of the ESXi vmfsSparse (COWD) extent header, 2048 bytes at sector 0 (vmdk-format.md 4.2.1).
// Pure functions over bytes; numeric fields go through the field table in both directions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "format/sparse_header.hpp"  // FieldInfo

namespace vmdk::format {

inline constexpr std::size_t kCowdHeaderSize = 2048;     // 4 sectors: the grain directory follows
inline constexpr std::uint32_t kCowdMagic = 0x44574F43;  // "COWD"
inline constexpr std::uint32_t kCowdGtes = 4096;         // entries per grain table (4.2.2)

// Flags of VMware's cow_ext.h. ESXi deltas carry 3 (root + check capable) although they are
// children: the union below is "unused" on ESXi, so the flag is no reliable parent marker.
inline constexpr std::uint32_t kCowdFlagRoot = 0x01;
inline constexpr std::uint32_t kCowdFlagCheckCapable = 0x02;
inline constexpr std::uint32_t kCowdFlagInconsistent = 0x04;

inline constexpr std::size_t kCowdParentNameSize = 1024;
inline constexpr std::size_t kCowdNameSize = 60;
inline constexpr std::size_t kCowdDescriptionSize = 512;

/// Every field in on-disk order. root_* and parent_file_name share bytes 32.. (a C union: a root
/// file stores its geometry there, a child its parent's name). The 396-byte pad is not listed.
inline constexpr std::array<FieldInfo, 19> kCowdHeaderFields{{
    {"magic", 0, 4},
    {"version", 4, 4},
    {"flags", 8, 4},
    {"num_sectors", 12, 4},
    {"grain_size", 16, 4},
    {"gd_offset", 20, 4},
    {"num_gd_entries", 24, 4},
    {"free_sector", 28, 4},
    {"root_cylinders", 32, 4},
    {"root_heads", 36, 4},
    {"root_sectors", 40, 4},
    {"parent_file_name", 32, kCowdParentNameSize},
    {"parent_generation", 1056, 4},
    {"generation", 1060, 4},
    {"name", 1064, kCowdNameSize},
    {"description", 1124, kCowdDescriptionSize},
    {"saved_generation", 1636, 4},
    {"reserved", 1640, 8},
    {"unclean_shutdown", 1648, 4},
}};

/// The field named `name`; throws UsageError for an unknown name (a programming error).
const FieldInfo& cowd_header_field(std::string_view name);

struct CowdHeader {
  std::uint32_t magic = kCowdMagic;
  std::uint32_t version = 1;
  std::uint32_t flags = kCowdFlagRoot | kCowdFlagCheckCapable;  // what ESXi writes
  std::uint32_t num_sectors = 0;                                ///< capacity of the whole disk, sectors
  std::uint32_t grain_size = 1;                                 ///< sectors per grain
  std::uint32_t gd_offset = 4;                                  ///< sectors
  std::uint32_t num_gd_entries = 0;                             ///< ceil(num_sectors / (4096 * grain_size))
  std::uint32_t free_sector = 0;                                ///< next free sector of the file
  /// The union at byte 32 kept as bytes, so that either view round-trips exactly; read and
  /// change it through parent_file_name() or field("root_cylinders") and friends.
  std::array<std::uint8_t, kCowdParentNameSize> union_bytes{};
  std::uint32_t parent_generation = 0;
  std::uint32_t generation = 0;
  std::string name;         ///< up to the first NUL (60 bytes on disk)
  std::string description;  ///< up to the first NUL (512 bytes on disk)
  std::uint32_t saved_generation = 0;
  std::uint64_t reserved = 0;  ///< 8 bytes, little-endian
  std::uint32_t unclean_shutdown = 0;

  bool operator==(const CowdHeader&) const = default;

  /// Value of a numeric field of kCowdHeaderFields (root_* read the union); UsageError for a text
  /// field or an unknown name.
  std::uint64_t field(std::string_view field_name) const;
  /// Sets a numeric field (value truncated to the field's width); UsageError as field().
  void set_field(std::string_view field_name, std::uint64_t value);
  /// The child view of the union: the parent's file name, up to the first NUL.
  std::string parent_file_name() const;
  /// Replaces the union with name, NUL padded. Throws UsageError when it has 1024 bytes or more.
  void set_parent_file_name(std::string_view file_name);
};

/// True when bytes start with the COWD magic (needs at least 4 bytes, else false).
bool has_cowd_magic(std::span<const std::uint8_t> bytes);

/// Decodes the header as if bytes were padded with zeros to 2048 (fields beyond the span read as
/// zero / empty). Validates nothing, not even the magic: that belongs to the reader.
CowdHeader decode_cowd_header(std::span<const std::uint8_t> bytes);

/// Encodes the 2048-byte header: name and description NUL padded (cut to 60 / 512 bytes), the
/// union as its bytes, the pad zero. encode(decode(b)) == b for headers whose text is NUL padded.
std::array<std::uint8_t, kCowdHeaderSize> encode_cowd_header(const CowdHeader& header);

}  // namespace vmdk::format
