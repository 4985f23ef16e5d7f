// Header validation of SESparse extents (vmdk-format.md 4.3.1, 4.3.2, 7.1): QEMU's strict checks
// of the constant fields, the volatile header, and regions that stay apart and in range.
#include "extent/sesparse/sesparse_layout.hpp"

#include <array>
#include <string>
#include <vector>

#include "io/checked_math.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sesparse {

namespace {

// "Maximum disk size: just under 64 TB" (4.3.3): 2^37 sectors.
constexpr std::uint64_t kMaxCapacitySectors = 1ull << 37;
// Regions end below this sector: far beyond any real file, and byte offsets stay below 2^50.
constexpr std::uint64_t kMaxSector = 1ull << 41;

// The first damage of a header; thrown by the checks below and caught in inspect_sesparse_layout,
// never further.
struct Refused {
  extent::Damage damage;
};

std::uint64_t at(std::string_view field) {
  return format::sesparse_header_field(field).offset;
}

std::string field_note(std::string_view field, std::uint64_t offset) {
  return " (field " + std::string(field) + " at " + hex(offset) + ")";
}

[[noreturn]] void fail(std::string_view field, const std::string& message,
                       const char* code = "header_invalid") {
  throw Refused{{code, "SESparse header " + message + field_note(field, at(field)), at(field)}};
}

[[noreturn]] void unsupported(std::string_view field, const std::string& message) {
  throw Refused{
      {"header_unsupported", "SESparse header " + message + field_note(field, at(field)), at(field), true}};
}

// "2.1" for 0x0000000200000001: the major version is the high half (4.3.1).
std::string version_text(std::uint64_t v) {
  return std::to_string(v >> 32) + "." + std::to_string(v & 0xffffffffu) + " (" + hex(v) + ")";
}

void check_constant_fields(const format::SesparseHeader& h) {
  if (h.magic != format::kSesparseMagic) fail("magic", "has no SESparse magic (found " + hex(h.magic) + ")");
  if (h.version != format::kSesparseVersion) {
    unsupported("version", "version " + version_text(h.version) + " is not supported (2.1 is)");
  }
  if (h.grain_size != format::kSesparseGrainSectors) {
    unsupported("grain_size", "grain size " + hex(h.grain_size) + " sectors is not supported (8 is)");
  }
  if (h.grain_table_size != format::kSesparseGrainTableSectors) {
    unsupported("grain_table_size",
                "grain table size " + hex(h.grain_table_size) + " sectors is not supported (64 is)");
  }
  if (h.flags != 0) unsupported("flags", "flags " + hex(h.flags) + " are not supported (0 is)");
  for (const char* field : {"reserved1", "reserved2", "reserved3", "reserved4"}) {
    if (h.field(field) != 0) fail(field, std::string(field) + " is " + hex(h.field(field)) + ", not 0");
  }
  if (!h.pad_zero) {
    throw Refused{
        {"header_invalid",
         "SESparse header padding (bytes " + hex(format::kSesparsePadOffset) + "-0x1ff) is not zero",
         format::kSesparsePadOffset}};
  }
}

struct Region {
  std::string name;  // field prefix: "<name>_offset", "<name>_size"
  std::uint64_t offset;
  std::uint64_t size;
};

// Every region inside [1, kMaxSector) and apart from the others. Only the volatile header and the
// directory are read as a whole; tables and grains are checked entry by entry when they are used,
// since the grains region reaches past the end of the file until the disk is full.
void check_regions(const format::SesparseHeader& h) {
  std::vector<Region> regions{{"constant header", 0, 1}};
  for (const char* region : {"volatile_header", "journal_header", "journal", "grain_dir", "grain_tables",
                             "free_bitmap", "backmap", "grains"}) {
    const std::string prefix(region);
    Region r{prefix, h.field(prefix + "_offset"), h.field(prefix + "_size")};
    if (r.size > kMaxSector || r.offset > kMaxSector - r.size) {
      fail(prefix + "_offset",
           prefix + " region (sector " + hex(r.offset) + ", " + hex(r.size) + " sectors) is out of range");
    }
    if (r.size == 0) continue;
    for (const Region& other : regions) {
      if (r.offset < other.offset + other.size && other.offset < r.offset + r.size) {
        fail(prefix + "_offset", prefix + " region (sectors " + hex(r.offset) + "-" +
                                     hex(r.offset + r.size - 1) + ") overlaps the " + other.name +
                                     (other.offset == 0 ? " (sector 0)" : " region"));
      }
    }
    regions.push_back(r);
  }
}

// 4.3.2: the volatile header must say the journal holds nothing to replay. The journal's format
// is not public (section 9, item 18), so replaying it here is not an option.
void check_volatile_header(const ByteSource& file, SesparseLayout& layout) {
  const format::SesparseHeader& h = layout.header;
  if (h.volatile_header_size == 0) fail("volatile_header_size", "volatile header size is 0");
  const std::uint64_t base = h.volatile_header_offset * format::kSectorSize;
  if (base + format::kSectorSize > layout.file_size) {
    fail("volatile_header_offset", "volatile header ends past end of file (" +
                                       hex(base + format::kSectorSize) + " > " + hex(layout.file_size) + ")");
  }
  std::array<std::uint8_t, format::kSesparseHeaderSize> bytes{};
  read_exact(file, base, bytes, "SESparse volatile header");
  const format::SesparseVolatileHeader v = format::decode_sesparse_volatile_header(bytes);
  layout.volatile_header = v;
  auto field_at = [&](std::string_view field) {
    return base + format::sesparse_volatile_field(field).offset;
  };
  if (v.magic != format::kSesparseVolatileMagic) {
    throw Refused{{"header_invalid",
                   "SESparse volatile header at " + hex(base) + " has no volatile magic (found " +
                       hex(v.magic) + ", expected " + hex(format::kSesparseVolatileMagic) + ")",
                   field_at("magic")}};
  }
  if (!v.pad_zero) {
    throw Refused{{"header_invalid",
                   "SESparse volatile header padding (from " +
                       hex(base + format::kSesparseVolatilePadOffset) + ") is not zero",
                   base + format::kSesparseVolatilePadOffset}};
  }
  if (v.replay_journal != 0) {
    throw Refused{{"journal_replay_needed",
                   "SESparse journal must be replayed (replay_journal is " + hex(v.replay_journal) +
                       "): the disk was not closed cleanly; open it on ESXi first" +
                       field_note("replay_journal", field_at("replay_journal")),
                   field_at("replay_journal"), true}};
  }
}

SesparseLayout check_layout(const ByteSource& file, std::uint64_t size_bytes) {
  SesparseLayout layout;
  layout.name = file.name();
  layout.file_size = file.size();
  if (layout.file_size < format::kSesparseHeaderSize) {
    throw Refused{{"header_truncated",
                   "SESparse header is cut short: the file has only " + hex(layout.file_size) + " of its " +
                       hex(format::kSesparseHeaderSize) + " bytes",
                   0}};
  }
  std::array<std::uint8_t, format::kSesparseHeaderSize> bytes{};
  read_exact(file, 0, bytes, "SESparse header");
  layout.header = format::decode_sesparse_header(bytes);
  const format::SesparseHeader& h = layout.header;
  check_constant_fields(h);
  const std::uint64_t size_sectors = vmdk::div_round_up(size_bytes, format::kSectorSize);
  if (h.capacity > kMaxCapacitySectors) {
    fail("capacity", "capacity " + hex(h.capacity) + " sectors is more than the format's 64 TiB");
  }
  // The descriptor line is authoritative (1.6), but a header smaller than it cannot map the rest.
  if (h.capacity < size_sectors) {
    fail("capacity",
         "capacity " + hex(h.capacity) + " sectors is smaller than the descriptor line's " +
             hex(size_sectors) + " sectors",
         "header_capacity_mismatch");
  }
  check_regions(h);
  check_volatile_header(file, layout);

  // GD index = sector / 32768 (4.3.3): the directory must have an entry for every 16 MiB.
  layout.gd_entries_used = vmdk::div_round_up(size_bytes, kCoverageBytes);
  const std::uint64_t gd_entries = h.grain_dir_size * format::kSectorSize / 8;
  if (gd_entries < layout.gd_entries_used) {
    fail("grain_dir_size", "grain directory holds " + std::to_string(gd_entries) +
                               " entries, the capacity needs " + std::to_string(layout.gd_entries_used));
  }
  layout.gd_byte_offset = h.grain_dir_offset * format::kSectorSize;
  const std::uint64_t gd_end = layout.gd_byte_offset + layout.gd_entries_used * 8;
  if (gd_end > layout.file_size) {
    fail("grain_dir_offset",
         "grain directory ends past end of file (" + hex(gd_end) + " > " + hex(layout.file_size) + ")");
  }
  layout.gt_byte_offset = h.grain_tables_offset * format::kSectorSize;
  layout.gt_count = h.grain_tables_size / h.grain_table_size;
  layout.grains_byte_offset = h.grains_offset * format::kSectorSize;
  layout.grain_slots = h.grains_size / h.grain_size;
  return layout;
}

}  // namespace

std::optional<SesparseLayout> inspect_sesparse_layout(const ByteSource& file, std::uint64_t size_bytes,
                                                      extent::Damage& damage) {
  try {
    return check_layout(file, size_bytes);
  } catch (Refused& refused) {
    damage = std::move(refused.damage);
    return std::nullopt;
  }
}

SesparseLayout load_sesparse_layout(const ByteSource& file, std::uint64_t size_bytes) {
  extent::Damage damage;
  std::optional<SesparseLayout> layout = inspect_sesparse_layout(file, size_bytes, damage);
  if (!layout) extent::throw_damage(file.name(), std::move(damage));
  return std::move(*layout);
}

}  // namespace vmdk::sesparse
