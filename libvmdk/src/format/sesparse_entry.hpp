// Encoding of the 64-bit entries of an ESXi SESparse extent (vmdk-format.md 4.3.3): grain
// directory entries, grain table entries and the bookkeeping regions a writer fills in.
#pragma once

#include <cstdint>

namespace vmdk::format {

/// High half of an allocated directory entry; the low half is the table's index in its region.
inline constexpr std::uint64_t kSesparseGdAllocatedHigh = 0x10000000;
/// Grain table entry types, in the entry's top nibble.
inline constexpr std::uint64_t kSesparseTypeUnallocated = 0x0;
inline constexpr std::uint64_t kSesparseTypeUnmapped = 0x1;
inline constexpr std::uint64_t kSesparseTypeZero = 0x2;
inline constexpr std::uint64_t kSesparseTypeAllocated = 0x3;
/// A zero-grain table entry (type 2): reads as zeros without falling through to the parent.
inline constexpr std::uint64_t kSesparseZeroEntry = kSesparseTypeZero << 60;

constexpr std::uint64_t sesparse_gd_entry(std::uint64_t table_index) {
  return (kSesparseGdAllocatedHigh << 32) | table_index;
}

constexpr std::uint64_t sesparse_entry_type(std::uint64_t entry) {
  return entry >> 60;
}

/// Grain slot of an allocated (type 3) entry: bits 48-59 hold the slot's low 12 bits, bits 0-47
/// its high bits.
constexpr std::uint64_t sesparse_entry_slot(std::uint64_t entry) {
  return ((entry >> 48) & 0xfff) | ((entry & 0x0000ffffffffffffull) << 12);
}

/// The allocated entry of grain slot `slot` (below 2^60).
constexpr std::uint64_t sesparse_allocated_entry(std::uint64_t slot) {
  return (kSesparseTypeAllocated << 60) | ((slot & 0xfff) << 48) | (slot >> 12);
}

/// Backmap entry of a slot in use: the owning grain's virtual grain number with the top nibble 1.
/// Inferred from a file ESXi wrote (grain slot i held virtual grain i and its backmap entry was
/// 0x1000000000000000 | i); the backmap is not publicly documented (4.3.3).
constexpr std::uint64_t sesparse_backmap_entry(std::uint64_t virtual_grain) {
  return (std::uint64_t{1} << 60) | virtual_grain;
}

}  // namespace vmdk::format
