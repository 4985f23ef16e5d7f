// Grain directory / grain table geometry and the u32 table codec (vmdk-format.md 2.4, 2.5).
// Inputs are assumed validated (grain size and table size powers of two, see 7.1).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vmdk::format {

inline constexpr std::uint32_t kGteUnallocated = 0;  ///< not in this layer
inline constexpr std::uint32_t kGteZeroed = 1;       ///< zeroed grain: reads zeros, hides the parent

/// Limits of 7.1. Grains: QEMU accepts up to 0x200000 sectors (1 GiB), but no producer writes
/// more than 1 MiB (VMware, QEMU and VirtualBox write 64 KiB; the COWD technote allows 1 MiB; vmdkit
/// create stops at 1 MiB), and a grain is the unit a read decompresses and a write copies: 16 MiB
/// keeps a 4 MB hostile file from costing gigabytes while refusing no real disk (issue 16).
inline constexpr std::uint64_t kMaxGrainSectors = 0x8000;
inline constexpr std::uint32_t kMinGtesPerGt = 128;
inline constexpr std::uint32_t kMaxGtesPerGt = 512;
inline constexpr std::uint64_t kMaxGdEntries = 32ull * 1024 * 1024;
inline constexpr std::uint64_t kMaxDescriptorSectors = 20480;

struct GrainGeometry {
  std::uint64_t grain_sectors = 0;
  std::uint64_t gtes_per_gt = 0;
  std::uint64_t gt_coverage_sectors = 0;  ///< gtes_per_gt * grain_sectors
  std::uint64_t num_grains = 0;           ///< ceil(capacity / grain)
  std::uint64_t num_gd_entries = 0;       ///< ceil(capacity / coverage)
  std::uint64_t gd_sectors = 0;           ///< ceil(entries * 4 / 512)
  std::uint64_t gt_sectors = 0;           ///< ceil(gtes * 4 / 512)
};

/// Geometry for a capacity in sectors (grain_sectors and gtes_per_gt non-zero, product < 2^32).
GrainGeometry grain_geometry(std::uint64_t capacity_sectors, std::uint64_t grain_sectors, std::uint64_t gtes_per_gt);

/// Decodes `count` little-endian u32 entries (bytes.size() >= count * 4).
std::vector<std::uint32_t> decode_u32_table(std::span<const std::uint8_t> bytes, std::size_t count);

/// Encodes entries little-endian into out (out.size() >= entries.size() * 4; the rest is left alone).
void encode_u32_table(std::span<const std::uint32_t> entries, std::span<std::uint8_t> out);

}  // namespace vmdk::format
