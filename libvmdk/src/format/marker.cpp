// streamOptimized marker codec (vmdk-format.md 3.2).
#include "format/marker.hpp"

#include "format/endian.hpp"

namespace vmdk::format {

Marker decode_marker(std::span<const std::uint8_t> bytes) {
  Marker marker;
  if (bytes.size() < kGrainMarkerHeaderSize) return marker;
  marker.value = load_le64(bytes, 0);
  marker.size = load_le32(bytes, 8);
  if (bytes.size() >= 16) marker.type = load_le32(bytes, 12);
  return marker;
}

std::array<std::uint8_t, kGrainMarkerHeaderSize> encode_grain_marker(std::uint64_t lba, std::uint32_t size) {
  std::array<std::uint8_t, kGrainMarkerHeaderSize> bytes{};
  store_le64(bytes, 0, lba);
  store_le32(bytes, 8, size);
  return bytes;
}

std::array<std::uint8_t, kMarkerSize> encode_metadata_marker(std::uint64_t num_sectors, MarkerType type) {
  std::array<std::uint8_t, kMarkerSize> bytes{};
  store_le64(bytes, 0, num_sectors);
  store_le32(bytes, 12, static_cast<std::uint32_t>(type));
  return bytes;
}

}  // namespace vmdk::format
