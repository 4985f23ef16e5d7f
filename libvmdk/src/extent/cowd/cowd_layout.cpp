// Header validation of vmfsSparse (COWD) extents (vmdk-format.md 4.2.1, 4.2.2, 7.1): every field
// that later sizes, divides or locates something is checked here, before it is used.
#include "extent/cowd/cowd_layout.hpp"

#include <array>
#include <string>

#include "io/checked_math.hpp"
#include "vmdk/error.hpp"

namespace vmdk::cowd {

namespace {

constexpr std::uint64_t kHeaderSectors = format::kCowdHeaderSize / format::kSectorSize;
// The technote allows grains of 1 sector up to 1 MiB (4.2.1).
constexpr std::uint64_t kMaxGrainSectors = 2048;

// Sets damage for a bad field (its offset, named in the message too) and returns nullopt.
std::optional<CowdLayout> refuse(extent::Damage& damage, const char* code, std::string_view field,
                                 const std::string& message, bool unsupported = false) {
  const std::uint64_t at = format::cowd_header_field(field).offset;
  damage = {code, "COWD header " + message + " (field " + std::string(field) + " at " + hex(at) + ")", at,
            unsupported};
  return std::nullopt;
}

}  // namespace

std::optional<CowdLayout> inspect_cowd_layout(const ByteSource& file, std::uint64_t size_bytes,
                                              extent::Damage& damage) {
  CowdLayout layout;
  layout.name = file.name();
  layout.file_size = file.size();
  if (layout.file_size < format::kCowdHeaderSize) {
    damage = {"header_truncated",
              "COWD header is cut short: the file has only " + hex(layout.file_size) + " of its " +
                  hex(format::kCowdHeaderSize) + " bytes",
              0};
    return std::nullopt;
  }
  std::array<std::uint8_t, format::kCowdHeaderSize> bytes{};
  read_exact(file, 0, bytes, "COWD header");
  const format::CowdHeader h = format::decode_cowd_header(bytes);
  layout.header = h;

  if (h.magic != format::kCowdMagic) {
    return refuse(damage, "header_invalid", "magic", "has no COWD magic (found " + hex(h.magic) + ")");
  }
  if (h.version != 1) {
    // Workstation 3 files share the magic with other version values (4.2); only ESXi's 1 is known.
    return refuse(
        damage, "header_unsupported", "version",
        "version " + std::to_string(h.version) + " is not supported (ESXi vmfsSparse extents have version 1)",
        true);
  }
  if (!vmdk::is_power_of_two(h.grain_size) || h.grain_size > kMaxGrainSectors) {
    return refuse(damage, "header_invalid", "grain_size",
                  "grain size " + hex(h.grain_size) + " sectors is not a power of two between 1 and " +
                      hex(kMaxGrainSectors));
  }
  // The descriptor line is authoritative (1.6), but a header smaller than it cannot map the rest.
  const std::uint64_t size_sectors = vmdk::div_round_up(size_bytes, format::kSectorSize);
  if (h.num_sectors < size_sectors) {
    return refuse(damage, "header_capacity_mismatch", "num_sectors",
                  "capacity " + hex(h.num_sectors) + " sectors is smaller than the descriptor line's " +
                      hex(size_sectors) + " sectors");
  }
  layout.grain_bytes = std::uint64_t{h.grain_size} * format::kSectorSize;
  layout.gt_coverage_bytes = layout.grain_bytes * format::kCowdGtes;
  const std::uint64_t coverage_sectors = std::uint64_t{h.grain_size} * format::kCowdGtes;
  const std::uint64_t needed = vmdk::div_round_up(h.num_sectors, coverage_sectors);
  if (h.num_gd_entries < needed) {
    return refuse(damage, "header_invalid", "num_gd_entries",
                  "has " + std::to_string(h.num_gd_entries) +
                      " grain directory entries, the capacity needs " + std::to_string(needed));
  }
  if (h.gd_offset < kHeaderSectors) {
    return refuse(damage, "header_invalid", "gd_offset",
                  "grain directory offset " + hex(h.gd_offset) + " lies inside the header (sectors 0-3)");
  }
  // All values are 32-bit: these products cannot overflow 64 bits.
  layout.gd_byte_offset = std::uint64_t{h.gd_offset} * format::kSectorSize;
  const std::uint64_t gd_end = layout.gd_byte_offset + std::uint64_t{h.num_gd_entries} * 4;
  if (gd_end > layout.file_size) {
    return refuse(
        damage, "header_invalid", "gd_offset",
        "grain directory ends past end of file (" + hex(gd_end) + " > " + hex(layout.file_size) + ")");
  }
  layout.gd_entries_used = vmdk::div_round_up(size_bytes, layout.gt_coverage_bytes);
  layout.metadata_end_sector =
      h.gd_offset + vmdk::div_round_up(std::uint64_t{h.num_gd_entries} * 4, format::kSectorSize);
  return layout;
}

CowdLayout load_cowd_layout(const ByteSource& file, std::uint64_t size_bytes) {
  extent::Damage damage;
  std::optional<CowdLayout> layout = inspect_cowd_layout(file, size_bytes, damage);
  if (!layout) extent::throw_damage(file.name(), std::move(damage));
  return std::move(*layout);
}

}  // namespace vmdk::cowd
