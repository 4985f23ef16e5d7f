// Header validation of vmfsSparse (COWD) extents (vmdk-format.md 4.2.1, 4.2.2, 7.1): every field
// that later sizes, divides or locates something is checked here, before it is used.
#include "extent/cowd/cowd_layout.hpp"

#include <array>
#include <string>

#include "format/checked_math.hpp"
#include "vmdk/error.hpp"

namespace vmdk::cowd {

namespace {

constexpr std::uint64_t kSector = 512;
constexpr std::uint64_t kHeaderSectors = format::kCowdHeaderSize / kSector;
// The technote allows grains of 1 sector up to 1 MiB (4.2.1).
constexpr std::uint64_t kMaxGrainSectors = 2048;

[[noreturn]] void fail(const std::string& file, std::string_view field, const std::string& message) {
  throw FormatError(file, "COWD header " + message, format::cowd_header_field(field).offset);
}

}  // namespace

CowdLayout load_cowd_layout(const ByteSource& file, std::uint64_t size_bytes) {
  CowdLayout layout;
  layout.name = file.name();
  layout.file_size = file.size();
  std::array<std::uint8_t, format::kCowdHeaderSize> bytes{};
  read_exact(file, 0, bytes, "COWD header");
  const format::CowdHeader h = format::decode_cowd_header(bytes);
  layout.header = h;
  const std::string& name = layout.name;

  if (h.magic != format::kCowdMagic) fail(name, "magic", "has no COWD magic (found " + hex(h.magic) + ")");
  if (h.version != 1) {
    // Workstation 3 files share the magic with other version values (4.2); only ESXi's 1 is known.
    throw UnsupportedError(name,
                           "COWD header version " + std::to_string(h.version) +
                               " is not supported (ESXi vmfsSparse extents have version 1)",
                           format::cowd_header_field("version").offset);
  }
  if (!format::is_power_of_two(h.grain_size) || h.grain_size > kMaxGrainSectors) {
    fail(name, "grain_size",
         "grain size " + hex(h.grain_size) + " sectors is not a power of two between 1 and " +
             hex(kMaxGrainSectors));
  }
  // The descriptor line is authoritative (1.6), but a header smaller than it cannot map the rest.
  const std::uint64_t size_sectors = format::div_round_up(size_bytes, kSector);
  if (h.num_sectors < size_sectors) {
    fail(name, "num_sectors",
         "capacity " + hex(h.num_sectors) + " sectors is smaller than the descriptor line's " +
             hex(size_sectors) + " sectors");
  }
  layout.grain_bytes = std::uint64_t{h.grain_size} * kSector;
  layout.gt_coverage_bytes = layout.grain_bytes * format::kCowdGtes;
  const std::uint64_t coverage_sectors = std::uint64_t{h.grain_size} * format::kCowdGtes;
  const std::uint64_t needed = format::div_round_up(h.num_sectors, coverage_sectors);
  if (h.num_gd_entries < needed) {
    fail(name, "num_gd_entries",
         "has " + std::to_string(h.num_gd_entries) + " grain directory entries, the capacity needs " +
             std::to_string(needed));
  }
  if (h.gd_offset < kHeaderSectors) {
    fail(name, "gd_offset",
         "grain directory offset " + hex(h.gd_offset) + " lies inside the header (sectors 0-3)");
  }
  // All values are 32-bit: these products cannot overflow 64 bits.
  layout.gd_byte_offset = std::uint64_t{h.gd_offset} * kSector;
  const std::uint64_t gd_end = layout.gd_byte_offset + std::uint64_t{h.num_gd_entries} * 4;
  if (gd_end > layout.file_size) {
    fail(name, "gd_offset",
         "grain directory ends past end of file (" + hex(gd_end) + " > " + hex(layout.file_size) + ")");
  }
  layout.gd_entries_used = format::div_round_up(size_bytes, layout.gt_coverage_bytes);
  layout.metadata_end_sector =
      h.gd_offset + format::div_round_up(std::uint64_t{h.num_gd_entries} * 4, kSector);
  return layout;
}

}  // namespace vmdk::cowd
