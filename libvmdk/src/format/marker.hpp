// Codec of streamOptimized markers (vmdk-format.md 3.2): grain markers (lba, size, data) and
// one-sector metadata markers (numSectors, 0, type). Pure functions over bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "format/sparse_header.hpp"

namespace vmdk::format {

inline constexpr std::size_t kGrainMarkerHeaderSize = 12;  ///< lba (u64) + size (u32)
inline constexpr std::size_t kMarkerSize = 512;            ///< a metadata marker is one sector
inline constexpr std::size_t kNoMarkerLengthSize = 4;      ///< u32 length before a grain (2.12)

enum class MarkerType : std::uint32_t { eos = 0, grain_table = 1, grain_directory = 2, footer = 3, progress = 4 };

inline constexpr std::array<FieldInfo, 3> kMarkerFields{{
    {"value", 0, 8},  // lba of a grain marker, numSectors of a metadata marker
    {"size", 8, 4},   // compressed bytes that follow; 0 for a metadata marker
    {"type", 12, 4},  // metadata markers only
}};

struct Marker {
  std::uint64_t value = 0;  ///< lba (grain marker) or numSectors (metadata marker)
  std::uint32_t size = 0;   ///< > 0: grain marker; 0: metadata marker
  std::uint32_t type = 0;   ///< meaningful only when size == 0
  bool is_grain() const { return size != 0; }
  bool operator==(const Marker&) const = default;
};

/// Decodes a marker; needs >= 12 bytes; type is read only when 16 bytes are available.
Marker decode_marker(std::span<const std::uint8_t> bytes);

/// The 12-byte header of a grain record (followed by `size` compressed bytes).
std::array<std::uint8_t, kGrainMarkerHeaderSize> encode_grain_marker(std::uint64_t lba, std::uint32_t size);

/// A whole metadata-marker sector (pad zero); EOS is encode_metadata_marker(0, MarkerType::eos).
std::array<std::uint8_t, kMarkerSize> encode_metadata_marker(std::uint64_t num_sectors, MarkerType type);

}  // namespace vmdk::format
