// Little-endian load/store helpers over byte spans (all VMDK binary integers are little-endian,
// vmdk-format.md 0.2). Callers check bounds first; these only assert them in debug builds.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>

namespace vmdk::format {

/// Reads an unsigned little-endian integer of `size` bytes (1..8) at `offset`.
inline std::uint64_t load_le(std::span<const std::uint8_t> bytes, std::size_t offset, std::size_t size) {
  assert(size >= 1 && size <= 8 && offset + size <= bytes.size());
  std::uint64_t value = 0;
  for (std::size_t i = size; i-- > 0;) value = (value << 8) | bytes[offset + i];
  return value;
}

/// Writes the low `size` bytes of value little-endian at `offset`.
inline void store_le(std::span<std::uint8_t> bytes, std::size_t offset, std::size_t size, std::uint64_t value) {
  assert(size >= 1 && size <= 8 && offset + size <= bytes.size());
  for (std::size_t i = 0; i < size; ++i) {
    bytes[offset + i] = static_cast<std::uint8_t>(value & 0xffu);
    value >>= 8;
  }
}

// Fixed-size forms spelled out so that the compiler turns each into one load (grain tables are
// decoded a few hundred thousand entries at a time).
inline std::uint16_t load_le16(std::span<const std::uint8_t> b, std::size_t off) {
  assert(off + 2 <= b.size());
  return static_cast<std::uint16_t>(b[off] | (b[off + 1] << 8));
}
inline std::uint32_t load_le32(std::span<const std::uint8_t> b, std::size_t off) {
  assert(off + 4 <= b.size());
  return std::uint32_t{b[off]} | (std::uint32_t{b[off + 1]} << 8) | (std::uint32_t{b[off + 2]} << 16) |
         (std::uint32_t{b[off + 3]} << 24);
}
inline std::uint64_t load_le64(std::span<const std::uint8_t> b, std::size_t off) {
  return std::uint64_t{load_le32(b, off)} | (std::uint64_t{load_le32(b, off + 4)} << 32);
}
inline void store_le16(std::span<std::uint8_t> b, std::size_t off, std::uint16_t v) { store_le(b, off, 2, v); }
inline void store_le32(std::span<std::uint8_t> b, std::size_t off, std::uint32_t v) { store_le(b, off, 4, v); }
inline void store_le64(std::span<std::uint8_t> b, std::size_t off, std::uint64_t v) { store_le(b, off, 8, v); }

}  // namespace vmdk::format
