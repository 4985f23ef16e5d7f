// Grain directory / grain table geometry and u32 table codec (vmdk-format.md 2.4).
#include "format/grain_directory.hpp"

#include "io/checked_math.hpp"
#include "format/endian.hpp"

namespace vmdk::format {

GrainGeometry grain_geometry(std::uint64_t capacity_sectors, std::uint64_t grain_sectors, std::uint64_t gtes_per_gt) {
  GrainGeometry g;
  g.grain_sectors = grain_sectors;
  g.gtes_per_gt = gtes_per_gt;
  g.gt_coverage_sectors = gtes_per_gt * grain_sectors;
  g.num_grains = div_round_up(capacity_sectors, grain_sectors);
  g.num_gd_entries = div_round_up(capacity_sectors, g.gt_coverage_sectors);
  g.gd_sectors = div_round_up(g.num_gd_entries * 4, 512);
  g.gt_sectors = div_round_up(gtes_per_gt * 4, 512);
  return g;
}

std::vector<std::uint32_t> decode_u32_table(std::span<const std::uint8_t> bytes, std::size_t count) {
  std::vector<std::uint32_t> entries(count);
  for (std::size_t i = 0; i < count; ++i) entries[i] = load_le32(bytes, i * 4);
  return entries;
}

void encode_u32_table(std::span<const std::uint32_t> entries, std::span<std::uint8_t> out) {
  for (std::size_t i = 0; i < entries.size(); ++i) store_le32(out, i * 4, entries[i]);
}

}  // namespace vmdk::format
