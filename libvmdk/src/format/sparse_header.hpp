// Codec of the hosted sparse (KDMV) header, also used as the streamOptimized footer
// (vmdk-format.md 2.1, 2.2). Pure functions over bytes; the field table drives both directions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace vmdk::format {

inline constexpr std::uint64_t kSectorSize = 512;
/// Grain table and directory entries (and COWD's sector numbers) are 32-bit sector numbers
/// (vmdk-format.md 2.8 step 6): a file cannot reach this sector.
inline constexpr std::uint64_t kSectorLimit32 = 1ull << 32;
/// Largest capacity a KDMV header may state: keeps every byte offset derived from it far below 2^64.
inline constexpr std::uint64_t kMaxSparseCapacitySectors = 1ull << 53;
/// Entries per grain table in every file VMware writes (2.4).
inline constexpr std::uint32_t kStandardGtesPerGt = 512;
inline constexpr std::size_t kSparseHeaderSize = 512;
inline constexpr std::uint32_t kSparseMagic = 0x564D444B;  // "KDMV"
inline constexpr std::uint64_t kGdAtEnd = 0xFFFFFFFFFFFFFFFFull;

inline constexpr std::uint32_t kFlagValidNewlineDetector = 0x00000001;
inline constexpr std::uint32_t kFlagRedundantGd = 0x00000002;
inline constexpr std::uint32_t kFlagZeroedGrainGte = 0x00000004;
inline constexpr std::uint32_t kFlagCompressed = 0x00010000;
inline constexpr std::uint32_t kFlagEmbeddedLba = 0x00020000;  // grain markers present
inline constexpr std::uint32_t kIncompatibleFlagsMask = 0xFFFF0000;
inline constexpr std::uint32_t kKnownIncompatibleFlags = kFlagCompressed | kFlagEmbeddedLba;

inline constexpr std::uint16_t kCompressNone = 0;
inline constexpr std::uint16_t kCompressDeflate = 1;

/// One field of a binary structure: its name (as shown by `info` and in messages), byte offset, size.
struct FieldInfo {
  std::string_view name;
  std::size_t offset;
  std::size_t size;
};

/// The header fields in on-disk order (the 433-byte zero pad at 79 is not listed).
inline constexpr std::array<FieldInfo, 17> kSparseHeaderFields{{
    {"magic", 0, 4},
    {"version", 4, 4},
    {"flags", 8, 4},
    {"capacity", 12, 8},
    {"grain_size", 20, 8},
    {"descriptor_offset", 28, 8},
    {"descriptor_size", 36, 8},
    {"num_gtes_per_gt", 44, 4},
    {"rgd_offset", 48, 8},
    {"gd_offset", 56, 8},
    {"overhead", 64, 8},
    {"unclean_shutdown", 72, 1},
    {"single_end_line_char", 73, 1},
    {"non_end_line_char", 74, 1},
    {"double_end_line_char1", 75, 1},
    {"double_end_line_char2", 76, 1},
    {"compress_algorithm", 77, 2},
}};

/// The field named `name`; throws UsageError for an unknown name (a programming error).
const FieldInfo& sparse_header_field(std::string_view name);

struct SparseHeader {
  std::uint32_t magic = kSparseMagic;
  std::uint32_t version = 1;
  std::uint32_t flags = kFlagValidNewlineDetector | kFlagRedundantGd;
  std::uint64_t capacity = 0;  ///< sectors
  std::uint64_t grain_size = 128;  ///< sectors
  std::uint64_t descriptor_offset = 0;  ///< sectors
  std::uint64_t descriptor_size = 0;  ///< sectors
  std::uint32_t num_gtes_per_gt = 512;
  std::uint64_t rgd_offset = 0;  ///< sectors
  std::uint64_t gd_offset = 0;  ///< sectors, or kGdAtEnd
  std::uint64_t overhead = 0;  ///< sectors
  std::uint8_t unclean_shutdown = 0;
  std::uint8_t single_end_line_char = '\n';
  std::uint8_t non_end_line_char = ' ';
  std::uint8_t double_end_line_char1 = '\r';
  std::uint8_t double_end_line_char2 = '\n';
  std::uint16_t compress_algorithm = kCompressNone;

  bool operator==(const SparseHeader&) const = default;

  /// Value of the field named like kSparseHeaderFields; UsageError for an unknown name.
  std::uint64_t field(std::string_view name) const;
  /// Sets the field named `name` (value truncated to the field's width).
  void set_field(std::string_view name, std::uint64_t value);
  /// True when the four end-of-line detector bytes have their defined values.
  bool newline_detector_intact() const {
    return single_end_line_char == '\n' && non_end_line_char == ' ' && double_end_line_char1 == '\r' &&
           double_end_line_char2 == '\n';
  }
};

/// True when bytes start with the KDMV magic (needs at least 4 bytes, else false).
bool has_kdmv_magic(std::span<const std::uint8_t> bytes);

/// Decodes the first 512 bytes (bytes.size() must be >= 79; fields beyond the span are zero).
/// Does not validate anything, not even the magic: validation belongs to the reader.
SparseHeader decode_sparse_header(std::span<const std::uint8_t> bytes);

/// Encodes a 512-byte header/footer (pad zero).
std::array<std::uint8_t, kSparseHeaderSize> encode_sparse_header(const SparseHeader& header);

}  // namespace vmdk::format
