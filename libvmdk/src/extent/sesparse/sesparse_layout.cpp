// Header validation of SESparse extents (vmdk-format.md 4.3.1, 4.3.2, 7.1): QEMU's strict checks
// of the constant fields, the volatile header, and regions that stay apart and in range.
#include "extent/sesparse/sesparse_layout.hpp"

#include <array>
#include <string>
#include <vector>

#include "format/checked_math.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sesparse {

namespace {

constexpr std::uint64_t kSector = 512;
// "Maximum disk size: just under 64 TB" (4.3.3): 2^37 sectors.
constexpr std::uint64_t kMaxCapacitySectors = 1ull << 37;
// Regions end below this sector: far beyond any real file, and byte offsets stay below 2^50.
constexpr std::uint64_t kMaxSector = 1ull << 41;

std::uint64_t at(std::string_view field) {
  return format::sesparse_header_field(field).offset;
}

[[noreturn]] void fail(const std::string& file, std::string_view field, const std::string& message) {
  throw FormatError(file, "SESparse header " + message, at(field));
}

[[noreturn]] void unsupported(const std::string& file, std::string_view field, const std::string& message) {
  throw UnsupportedError(file, "SESparse header " + message, at(field));
}

// "2.1" for 0x0000000200000001: the major version is the high half (4.3.1).
std::string version_text(std::uint64_t v) {
  return std::to_string(v >> 32) + "." + std::to_string(v & 0xffffffffu) + " (" + hex(v) + ")";
}

void check_constant_fields(const format::SesparseHeader& h, const std::string& name) {
  if (h.magic != format::kSesparseMagic)
    fail(name, "magic", "has no SESparse magic (found " + hex(h.magic) + ")");
  if (h.version != format::kSesparseVersion) {
    unsupported(name, "version", "version " + version_text(h.version) + " is not supported (2.1 is)");
  }
  if (h.grain_size != format::kSesparseGrainSectors) {
    unsupported(name, "grain_size", "grain size " + hex(h.grain_size) + " sectors is not supported (8 is)");
  }
  if (h.grain_table_size != format::kSesparseGrainTableSectors) {
    unsupported(name, "grain_table_size",
                "grain table size " + hex(h.grain_table_size) + " sectors is not supported (64 is)");
  }
  if (h.flags != 0) unsupported(name, "flags", "flags " + hex(h.flags) + " are not supported (0 is)");
  for (const char* field : {"reserved1", "reserved2", "reserved3", "reserved4"}) {
    if (h.field(field) != 0) fail(name, field, std::string(field) + " is " + hex(h.field(field)) + ", not 0");
  }
  if (!h.pad_zero) {
    throw FormatError(
        name, "SESparse header padding (bytes " + hex(format::kSesparsePadOffset) + "-0x1ff) is not zero",
        format::kSesparsePadOffset);
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
void check_regions(const format::SesparseHeader& h, const std::string& name) {
  std::vector<Region> regions{{"constant header", 0, 1}};
  for (const char* region : {"volatile_header", "journal_header", "journal", "grain_dir", "grain_tables",
                             "free_bitmap", "backmap", "grains"}) {
    const std::string prefix(region);
    Region r{prefix, h.field(prefix + "_offset"), h.field(prefix + "_size")};
    if (r.size > kMaxSector || r.offset > kMaxSector - r.size) {
      fail(name, prefix + "_offset",
           prefix + " region (sector " + hex(r.offset) + ", " + hex(r.size) + " sectors) is out of range");
    }
    if (r.size == 0) continue;
    for (const Region& other : regions) {
      if (r.offset < other.offset + other.size && other.offset < r.offset + r.size) {
        fail(name, prefix + "_offset",
             prefix + " region (sectors " + hex(r.offset) + "-" + hex(r.offset + r.size - 1) +
                 ") overlaps the " + other.name + (other.offset == 0 ? " (sector 0)" : " region"));
      }
    }
    regions.push_back(r);
  }
}

// 4.3.2: the volatile header must say the journal holds nothing to replay. The journal's format
// is not public (section 9, item 18), so replaying it here is not an option.
void check_volatile_header(const ByteSource& file, SesparseLayout& layout) {
  const format::SesparseHeader& h = layout.header;
  const std::string& name = layout.name;
  if (h.volatile_header_size == 0) fail(name, "volatile_header_size", "volatile header size is 0");
  const std::uint64_t base = h.volatile_header_offset * kSector;
  if (base + kSector > layout.file_size) {
    fail(name, "volatile_header_offset",
         "volatile header ends past end of file (" + hex(base + kSector) + " > " + hex(layout.file_size) +
             ")");
  }
  std::array<std::uint8_t, format::kSesparseHeaderSize> bytes{};
  read_exact(file, base, bytes, "SESparse volatile header");
  const format::SesparseVolatileHeader v = format::decode_sesparse_volatile_header(bytes);
  layout.volatile_header = v;
  auto field_at = [&](std::string_view field) {
    return base + format::sesparse_volatile_field(field).offset;
  };
  if (v.magic != format::kSesparseVolatileMagic) {
    throw FormatError(name,
                      "SESparse volatile header at " + hex(base) + " has no volatile magic (found " +
                          hex(v.magic) + ", expected " + hex(format::kSesparseVolatileMagic) + ")",
                      field_at("magic"));
  }
  if (!v.pad_zero) {
    throw FormatError(name,
                      "SESparse volatile header padding (from " +
                          hex(base + format::kSesparseVolatilePadOffset) + ") is not zero",
                      base + format::kSesparseVolatilePadOffset);
  }
  if (v.replay_journal != 0) {
    throw UnsupportedError(name,
                           "SESparse journal must be replayed (replay_journal is " + hex(v.replay_journal) +
                               "): the disk was not closed cleanly; open it on ESXi first",
                           field_at("replay_journal"));
  }
}

}  // namespace

SesparseLayout load_sesparse_layout(const ByteSource& file, std::uint64_t size_bytes) {
  SesparseLayout layout;
  layout.name = file.name();
  layout.file_size = file.size();
  std::array<std::uint8_t, format::kSesparseHeaderSize> bytes{};
  read_exact(file, 0, bytes, "SESparse header");
  layout.header = format::decode_sesparse_header(bytes);
  const format::SesparseHeader& h = layout.header;
  const std::string& name = layout.name;
  check_constant_fields(h, name);
  const std::uint64_t size_sectors = format::div_round_up(size_bytes, kSector);
  if (h.capacity > kMaxCapacitySectors) {
    fail(name, "capacity", "capacity " + hex(h.capacity) + " sectors is more than the format's 64 TiB");
  }
  // The descriptor line is authoritative (1.6), but a header smaller than it cannot map the rest.
  if (h.capacity < size_sectors) {
    fail(name, "capacity",
         "capacity " + hex(h.capacity) + " sectors is smaller than the descriptor line's " +
             hex(size_sectors) + " sectors");
  }
  check_regions(h, name);
  check_volatile_header(file, layout);

  // GD index = sector / 32768 (4.3.3): the directory must have an entry for every 16 MiB.
  layout.gd_entries_used = format::div_round_up(size_bytes, kCoverageBytes);
  const std::uint64_t gd_entries = h.grain_dir_size * kSector / 8;
  if (gd_entries < layout.gd_entries_used) {
    fail(name, "grain_dir_size",
         "grain directory holds " + std::to_string(gd_entries) + " entries, the capacity needs " +
             std::to_string(layout.gd_entries_used));
  }
  layout.gd_byte_offset = h.grain_dir_offset * kSector;
  const std::uint64_t gd_end = layout.gd_byte_offset + layout.gd_entries_used * 8;
  if (gd_end > layout.file_size) {
    fail(name, "grain_dir_offset",
         "grain directory ends past end of file (" + hex(gd_end) + " > " + hex(layout.file_size) + ")");
  }
  layout.gt_byte_offset = h.grain_tables_offset * kSector;
  layout.gt_count = h.grain_tables_size / h.grain_table_size;
  layout.grains_byte_offset = h.grains_offset * kSector;
  layout.grain_slots = h.grains_size / h.grain_size;
  return layout;
}

}  // namespace vmdk::sesparse
