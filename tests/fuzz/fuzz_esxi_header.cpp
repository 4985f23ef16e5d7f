// libFuzzer target: the ESXi delta extents, vmfsSparse (COWD, vmdk-format.md 4.2) and SESparse
// (4.3): header codecs, layout validation, grain directory and tables, and check's scans of them.
// The input is the start of an extent file; both kinds are tried on every input.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "extent/cowd/cowd_extent.hpp"
#include "extent/cowd/cowd_layout.hpp"
#include "extent/cowd/cowd_scan.hpp"
#include "extent/sesparse/sesparse_extent.hpp"
#include "extent/sesparse/sesparse_layout.hpp"
#include "extent/sesparse/sesparse_scan.hpp"
#include "io/checked_math.hpp"
#include "format/cowd_header.hpp"
#include "format/endian.hpp"
#include "format/sesparse_header.hpp"
#include "fuzz_support.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

using vmdk_fuzz::broken;
using vmdk_fuzz::require;
namespace format = vmdk::format;

namespace {

constexpr std::uint64_t kSector = 512;
// Bytes of data runs read back per input and kind.
constexpr std::uint64_t kReadBudget = 1 << 20;
// Runs checked against block_status per input and kind.
constexpr std::size_t kMaxStatusChecks = 32;

template <std::size_t N>
std::array<std::uint8_t, N> padded(std::span<const std::uint8_t> input, std::size_t offset) {
  std::array<std::uint8_t, N> bytes{};
  if (offset < input.size()) {
    const std::size_t n = std::min(N, input.size() - offset);
    std::copy_n(input.begin() + static_cast<std::ptrdiff_t>(offset), n, bytes.begin());
  }
  return bytes;
}

// --- codecs ---------------------------------------------------------------------------------------

bool is_cowd_text(std::string_view name) {
  return name == "name" || name == "description";
}

void check_cowd_codec(std::span<const std::uint8_t> input) {
  const auto bytes = padded<format::kCowdHeaderSize>(input, 0);
  const format::CowdHeader header = format::decode_cowd_header(bytes);
  require(format::decode_cowd_header(input) == header,
          "COWD: a short header decodes unlike its zero padding");
  // What encode must give back: every byte, but text fields end at their first NUL and the pad is 0.
  std::array<std::uint8_t, format::kCowdHeaderSize> expected = bytes;
  for (const format::FieldInfo& field : format::kCowdHeaderFields) {
    if (is_cowd_text(field.name)) {
      auto first = expected.begin() + static_cast<std::ptrdiff_t>(field.offset);
      auto last = first + static_cast<std::ptrdiff_t>(field.size);
      std::fill(std::find(first, last, std::uint8_t{0}), last, std::uint8_t{0});
    } else if (field.name != "parent_file_name") {
      require(header.field(field.name) == format::load_le(bytes, field.offset, field.size),
              "COWD: a decoded field differs from its bytes");
    }
  }
  const std::size_t pad = format::cowd_header_field("unclean_shutdown").offset + 4;
  std::fill(expected.begin() + static_cast<std::ptrdiff_t>(pad), expected.end(), std::uint8_t{0});
  const auto encoded = format::encode_cowd_header(header);
  require(encoded == expected, "COWD: encode(decode(bytes)) differs from the bytes");
  require(format::decode_cowd_header(encoded) == header,
          "COWD: decode(encode(header)) differs from the header");
  require(format::has_cowd_magic(input) == (input.size() >= 4 && header.magic == format::kCowdMagic),
          "COWD: has_cowd_magic disagrees with the decoded magic");
  // The union's child view: the parent name up to the first NUL.
  const std::string parent = header.parent_file_name();
  require(parent.size() <= format::kCowdParentNameSize &&
              std::equal(parent.begin(), parent.end(), bytes.begin() + 32,
                         [](char c, std::uint8_t b) { return static_cast<std::uint8_t>(c) == b; }) &&
              (parent.size() == format::kCowdParentNameSize || bytes[32 + parent.size()] == 0),
          "COWD: the parent file name is not the union's bytes up to the first NUL");
}

template <typename H, std::size_t N>
void check_sesparse_struct(std::span<const std::uint8_t> input, std::size_t offset,
                           const std::array<format::FieldInfo, N>& fields, std::size_t pad_offset,
                           H (*decode)(std::span<const std::uint8_t>),
                           std::array<std::uint8_t, format::kSesparseHeaderSize> (*encode)(const H&)) {
  const auto bytes = padded<format::kSesparseHeaderSize>(input, offset);
  const H header = decode(bytes);
  require(decode(input.subspan(std::min(offset, input.size()))) == header,
          "SESparse: a short header decodes unlike its zero padding");
  for (const format::FieldInfo& field : fields) {
    require(header.field(field.name) == format::load_le(bytes, field.offset, field.size),
            "SESparse: a decoded field differs from its bytes");
  }
  const bool pad_zero = std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(pad_offset), bytes.end(),
                                    [](std::uint8_t b) { return b == 0; });
  require(header.pad_zero == pad_zero, "SESparse: pad_zero disagrees with the pad bytes");
  std::array<std::uint8_t, format::kSesparseHeaderSize> expected = bytes;
  std::fill(expected.begin() + static_cast<std::ptrdiff_t>(pad_offset), expected.end(), std::uint8_t{0});
  const auto encoded = encode(header);
  require(encoded == expected, "SESparse: encode(decode(bytes)) differs from the bytes");
  H again = header;
  again.pad_zero = true;
  require(decode(encoded) == again, "SESparse: decode(encode(header)) differs from the header");
}

void check_sesparse_codecs(std::span<const std::uint8_t> input) {
  check_sesparse_struct<format::SesparseHeader>(input, 0, format::kSesparseHeaderFields,
                                                format::kSesparsePadOffset, format::decode_sesparse_header,
                                                format::encode_sesparse_header);
  // The volatile header where writers put it (sector 1).
  check_sesparse_struct<format::SesparseVolatileHeader>(
      input, kSector, format::kSesparseVolatileFields, format::kSesparseVolatilePadOffset,
      format::decode_sesparse_volatile_header, format::encode_sesparse_volatile_header);
}

// --- layouts --------------------------------------------------------------------------------------

void check_cowd_layout(const vmdk::cowd::CowdLayout& l, std::uint64_t size_bytes) {
  const format::CowdHeader& h = l.header;
  require(h.magic == format::kCowdMagic && h.version == 1, "COWD: accepted without magic or version 1");
  require(vmdk::is_power_of_two(h.grain_size) && h.grain_size <= 2048, "COWD: accepted a bad grain size");
  require(std::uint64_t{h.num_sectors} * kSector >= size_bytes, "COWD: capacity below the descriptor line");
  require(l.grain_bytes == h.grain_size * kSector && l.gt_coverage_bytes == l.grain_bytes * format::kCowdGtes,
          "COWD: grain geometry");
  require(std::uint64_t{h.num_gd_entries} * format::kCowdGtes * h.grain_size >= h.num_sectors,
          "COWD: grain directory does not cover the capacity");
  require(h.gd_offset >= 4 && l.gd_byte_offset == std::uint64_t{h.gd_offset} * kSector,
          "COWD: grain directory inside the header");
  const std::uint64_t gd_end = l.gd_byte_offset + std::uint64_t{h.num_gd_entries} * 4;
  require(gd_end <= l.file_size, "COWD: accepted a grain directory past the end of the file");
  require(l.metadata_end_sector * kSector >= gd_end, "COWD: metadata ends inside the directory");
  require(l.gd_entries_used <= h.num_gd_entries && l.gd_entries_used * l.gt_coverage_bytes >= size_bytes,
          "COWD: used directory entries do not cover the extent");
}

void check_sesparse_layout(const vmdk::sesparse::SesparseLayout& l, std::uint64_t size_bytes) {
  const format::SesparseHeader& h = l.header;
  require(h.magic == format::kSesparseMagic && h.version == format::kSesparseVersion && h.flags == 0 &&
              h.grain_size == 8 && h.grain_table_size == 64 && h.pad_zero,
          "SESparse: accepted a header QEMU refuses");
  require(h.capacity * kSector >= size_bytes && h.capacity <= (1ull << 37),
          "SESparse: capacity out of range");
  const format::SesparseVolatileHeader& v = l.volatile_header;
  require(v.magic == format::kSesparseVolatileMagic && v.replay_journal == 0 && v.pad_zero,
          "SESparse: accepted a dirty or damaged volatile header");
  require(h.volatile_header_offset >= 1 && (h.volatile_header_offset + 1) * kSector <= l.file_size,
          "SESparse: volatile header outside the file");
  // Regions apart from each other and from sector 0.
  const char* names[] = {"volatile_header", "journal_header", "journal", "grain_dir",
                         "grain_tables",    "free_bitmap",    "backmap", "grains"};
  for (const char* a : names) {
    const std::uint64_t ao = h.field(std::string(a) + "_offset"), as = h.field(std::string(a) + "_size");
    require(ao + as >= ao && ao + as <= (1ull << 41), "SESparse: region out of range");
    if (as == 0) continue;
    require(ao >= 1, "SESparse: region over the constant header");
    for (const char* b : names) {
      if (a == b) continue;
      const std::uint64_t bo = h.field(std::string(b) + "_offset"), bs = h.field(std::string(b) + "_size");
      require(bs == 0 || ao + as <= bo || bo + bs <= ao, "SESparse: regions overlap");
    }
  }
  require(l.gd_entries_used * (4096ull * 4096) >= size_bytes,
          "SESparse: directory does not cover the extent");
  require(l.gd_entries_used <= h.grain_dir_size * kSector / 8, "SESparse: directory larger than its region");
  require(l.gd_byte_offset + l.gd_entries_used * 8 <= l.file_size,
          "SESparse: directory past the end of the file");
  require(l.gt_count * 64 <= h.grain_tables_size && l.grain_slots * 8 <= h.grains_size,
          "SESparse: tables or grains beyond their regions");
}

// --- extents --------------------------------------------------------------------------------------

// The map covers the extent exactly, data runs lie inside the host range the kind allows and read
// back as the file's bytes there, other runs read as zeros, block_status agrees with the map.
void check_extent(const vmdk::Extent& extent, std::span<const std::uint8_t> input, std::uint64_t data_floor,
                  std::uint64_t data_ceiling) {
  std::vector<vmdk::Run> runs;
  extent.map(0, extent.size(), runs);
  std::uint64_t pos = 0;
  for (const vmdk::Run& r : runs) {
    require(r.offset == pos && r.length > 0, "map runs are not contiguous");
    pos += r.length;
    if (r.state == vmdk::BlockState::data) {
      require(r.host_offset >= data_floor && r.host_offset <= data_ceiling &&
                  r.length <= data_ceiling - r.host_offset,
              "a data run lies outside the file or inside the metadata");
    }
  }
  require(pos == extent.size(), "map does not cover the extent");
  for (std::size_t i = 0; i < std::min(runs.size(), kMaxStatusChecks); ++i) {
    const vmdk::Run status = extent.block_status(runs[i].offset, runs[i].length);
    require(status.state == runs[i].state && status.length > 0 && status.length <= runs[i].length,
            "block_status disagrees with map");
  }
  std::uint64_t budget = kReadBudget;
  std::vector<std::uint8_t> buffer;
  for (const vmdk::Run& r : runs) {
    if (budget == 0) break;
    const std::uint64_t length = std::min({r.length, budget, std::uint64_t{65536}});
    budget -= length;
    buffer.assign(static_cast<std::size_t>(length), 0xee);
    extent.read(r.offset, buffer);
    if (r.state == vmdk::BlockState::data) {
      require(std::equal(buffer.begin(), buffer.end(),
                         input.begin() + static_cast<std::ptrdiff_t>(r.host_offset)),
              "a data run reads other bytes than the file holds at its host offset");
    } else {
      require(std::all_of(buffer.begin(), buffer.end(), [](std::uint8_t b) { return b == 0; }),
              "an unallocated or zero run reads as non-zero bytes");
    }
  }
  const vmdk::ExtentDetails details = extent.details();
  require(details.allocated_bytes <= extent.size() + details.grain_size, "more bytes allocated than mapped");
}

// Findings about what the reader cannot see: two table entries naming one grain read that grain
// through both, so the reader opens and reads the extent; only check's scan reports them.
bool reader_cannot_see(const vmdk::Finding& finding) { return finding.code == "gt_entries_share_grain"; }

// What check's scan says agrees with what the reader does: no finding the reader could see exactly
// when the extent opens and maps; else the first such finding is the reader's error (file, offset
// and message), and every finding lies inside the file.
void check_scan(const std::vector<vmdk::Finding>& findings, const std::optional<vmdk::Error>& failure,
                std::uint64_t file_size) {
  for (const vmdk::Finding& f : findings) {
    require(f.severity == vmdk::Severity::corruption, "an ESXi finding is not a corruption");
    if (f.code == "more_findings") continue;
    require(f.offset.has_value() && (*f.offset < file_size || f.code == "header_truncated"),
            "a finding's offset lies outside the file");
  }
  const auto seen = std::find_if(findings.begin(), findings.end(),
                                 [](const vmdk::Finding& f) { return !reader_cannot_see(f); });
  if (!failure) {
    // A full log ends in more_findings even when all it holds are shared grains.
    require(seen == findings.end() || seen->code == "more_findings",
            "the scan reports damage the reader does not see");
    return;
  }
  require(seen != findings.end(), "the reader fails on damage the scan does not report");
  require(seen->file == failure->file() && seen->offset == failure->offset() &&
              seen->message == failure->message(),
          "the scan's first finding is not the reader's error");
}

// Opens the extent with the reader and exercises it; returns the reader's error, if any.
template <typename Open, typename Check>
std::optional<vmdk::Error> run_reader(Open&& open, Check&& check) {
  try {
    std::unique_ptr<vmdk::Extent> extent = open();
    check(*extent);
  } catch (const vmdk::UsageError& error) {
    broken(std::string("usage error from an in-range call: ") + error.what());
  } catch (const vmdk::Error& error) {
    return error;
  }
  return std::nullopt;
}

// The descriptor line's size: the header's capacity, or half of it when the input's length is odd
// (a line smaller than the header's capacity is valid).
std::uint64_t line_size(std::uint64_t capacity_sectors, std::size_t input_size) {
  return (input_size % 2 == 0 ? capacity_sectors : capacity_sectors / 2) * kSector;
}

void check_cowd(std::span<const std::uint8_t> input, const std::shared_ptr<vmdk::MemoryFile>& file) {
  const auto bytes = padded<format::kCowdHeaderSize>(input, 0);
  const std::uint64_t size = line_size(format::decode_cowd_header(bytes).num_sectors, input.size());
  vmdk::extent::Damage damage;
  const std::optional<vmdk::cowd::CowdLayout> layout = vmdk::cowd::inspect_cowd_layout(*file, size, damage);
  if (layout) check_cowd_layout(*layout, size);
  const std::optional<vmdk::Error> failure =
      run_reader([&] { return vmdk::cowd::open_cowd_extent(file, size); },
                 [&](const vmdk::Extent& extent) {
                   require(layout.has_value(), "COWD: opened a header the layout refuses");
                   // Grains lie past the header and directory.
                   check_extent(extent, input, layout->metadata_end_sector * kSector, input.size());
                 });
  require(layout.has_value() || failure.has_value(), "COWD: the reader opened a header the layout refuses");
  check_scan(vmdk::cowd::scan_cowd(file, size), failure, input.size());
}

void check_sesparse(std::span<const std::uint8_t> input, const std::shared_ptr<vmdk::MemoryFile>& file) {
  const auto bytes = padded<format::kSesparseHeaderSize>(input, 0);
  // Capacities near 64 TiB make a line the directory cannot hold: the layout refuses it early.
  const std::uint64_t capacity =
      std::min<std::uint64_t>(format::decode_sesparse_header(bytes).capacity, 1ull << 40);
  const std::uint64_t size = line_size(capacity, input.size());
  vmdk::extent::Damage damage;
  const std::optional<vmdk::sesparse::SesparseLayout> layout =
      vmdk::sesparse::inspect_sesparse_layout(*file, size, damage);
  if (layout) check_sesparse_layout(*layout, size);
  const std::optional<vmdk::Error> failure = run_reader(
      [&] { return vmdk::sesparse::open_sesparse_extent(file, size); },
      [&](const vmdk::Extent& extent) {
        require(layout.has_value(), "SESparse: opened a header the layout refuses");
        // Grains lie inside the grains region.
        check_extent(
            extent, input, layout->grains_byte_offset,
            std::min<std::uint64_t>(input.size(), layout->grains_byte_offset + layout->grain_slots * 4096));
      });
  require(layout.has_value() || failure.has_value(),
          "SESparse: the reader opened a header the layout refuses");
  check_scan(vmdk::sesparse::scan_sesparse(file, size), failure, input.size());
}

}  // namespace

// Properties: the codecs round-trip bit for bit (field tables against the bytes, text and pad
// rules); a layout the loader accepts keeps its promises; the extent maps exactly, its data runs
// read the file's own bytes from outside the metadata, other runs read zeros; only vmdk::Error
// escapes, never a UsageError; check's scan agrees with the reader.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  check_cowd_codec(input);
  check_sesparse_codecs(input);
  auto file =
      std::make_shared<vmdk::MemoryFile>("fuzz.vmdk", std::vector<std::uint8_t>(input.begin(), input.end()));
  check_cowd(input, file);
  check_sesparse(input, file);
  return 0;
}
