// Header and footer validation of hosted sparse / stream extents (vmdk-format.md 2.1-2.4, 3.5, 7.1).
#include "extent/sparse/kdmv_layout.hpp"

#include <array>
#include <string>

#include "io/checked_math.hpp"
#include "format/endian.hpp"
#include "format/marker.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

namespace {

using format::kSectorSize;
using format::SparseHeader;

// GD entries and GTEs are 32-bit sectors: nothing in a hosted sparse file lies past 2^32 sectors.
constexpr std::uint64_t kMaxSector = 1ull << 32;

class HeaderChecker {
 public:
  HeaderChecker(const SparseHeader& h, const std::string& file, std::uint64_t base, std::string what,
                std::uint64_t file_size)
      : h_(h), file_(file), base_(base), what_(std::move(what)), file_size_(file_size) {}

  std::uint64_t at(std::string_view field) const { return base_ + format::sparse_header_field(field).offset; }

  [[noreturn]] void fail(std::string_view field, const std::string& message) const {
    throw FormatError(file_, what_ + " " + message, at(field));
  }

  void check_magic() const {
    if (h_.magic == format::kSparseMagic) return;
    if (h_.magic == (format::kSparseMagic ^ 0x20202020u)) {
      fail("magic", "has the magic \"kdmv\" of an unfinished open-vmdk conversion (the file is incomplete)");
    }
    fail("magic", "has no KDMV magic (found " + hex(h_.magic) + ")");
  }

  void check_fields() const {
    if (h_.version < 1 || h_.version > 3) {
      throw UnsupportedError(
          file_, what_ + " version " + std::to_string(h_.version) + " is not supported (versions 1 to 3 are)",
          at("version"));
    }
    std::uint32_t unknown = h_.flags & format::kIncompatibleFlagsMask & ~format::kKnownIncompatibleFlags;
    if (unknown != 0) {
      throw UnsupportedError(file_, what_ + " has unsupported incompatible flags " + hex(unknown),
                             at("flags"));
    }
    if ((h_.flags & format::kFlagEmbeddedLba) != 0 && (h_.flags & format::kFlagCompressed) == 0) {
      fail("flags", "sets the grain-marker flag (0x20000) without the compression flag (0x10000)");
    }
    if ((h_.flags & format::kFlagValidNewlineDetector) != 0 && !h_.newline_detector_intact()) {
      fail("single_end_line_char",
           "end-of-line check bytes are wrong: the file was corrupted by a text-mode transfer");
    }
    if (!vmdk::is_power_of_two(h_.grain_size)) {
      fail("grain_size", "grain size " + hex(h_.grain_size) + " sectors is not a power of two");
    }
    if (h_.grain_size > format::kMaxGrainSectors) {
      // Refused at open, by every command: each read or write of such a grain would cost its size.
      fail("grain_size", "grain size " + hex(h_.grain_size) + " sectors is larger than the " +
                             hex(format::kMaxGrainSectors) + " sectors (16 MiB) this reader accepts");
    }
    if (!vmdk::is_power_of_two(h_.num_gtes_per_gt) || h_.num_gtes_per_gt < format::kMinGtesPerGt ||
        h_.num_gtes_per_gt > format::kMaxGtesPerGt) {
      fail("num_gtes_per_gt", "grain table size " + std::to_string(h_.num_gtes_per_gt) +
                                  " is not a power of two between 128 and 512");
    }
    if ((h_.flags & format::kFlagCompressed) != 0 && h_.compress_algorithm != format::kCompressDeflate) {
      throw UnsupportedError(file_,
                             what_ + " compression algorithm " + std::to_string(h_.compress_algorithm) +
                                 " is not supported (1 = deflate is)",
                             at("compress_algorithm"));
    }
    if (h_.capacity > format::kMaxSparseCapacitySectors) {
      fail("capacity", "capacity " + hex(h_.capacity) + " sectors is too large");
    }
    auto geometry = format::grain_geometry(h_.capacity, h_.grain_size, h_.num_gtes_per_gt);
    if (geometry.num_gd_entries > format::kMaxGdEntries) {
      fail("capacity", "capacity " + hex(h_.capacity) + " sectors needs " + hex(geometry.num_gd_entries) +
                           " grain tables (more than " + hex(format::kMaxGdEntries) + ")");
    }
    check_descriptor_area();
    if (h_.overhead == 0 || h_.overhead >= kMaxSector) {
      fail("overhead", "overhead " + hex(h_.overhead) + " sectors is out of range");
    }
    if (h_.descriptor_offset != 0 && h_.overhead < h_.descriptor_offset + h_.descriptor_size) {
      fail("overhead", "overhead " + hex(h_.overhead) + " sectors lies inside the embedded descriptor");
    }
  }

  void check_descriptor_area() const {
    if (h_.descriptor_size > format::kMaxDescriptorSectors) {
      fail("descriptor_size", "descriptor size " + hex(h_.descriptor_size) + " sectors exceeds " +
                                  hex(format::kMaxDescriptorSectors));
    }
    if (h_.descriptor_offset == 0) return;
    if (h_.descriptor_size == 0)
      fail("descriptor_size", "has a descriptor offset but a descriptor size of 0");
    if (h_.descriptor_offset >= kMaxSector) {
      fail("descriptor_offset", "descriptor offset " + hex(h_.descriptor_offset) + " is out of range");
    }
    std::uint64_t end = (h_.descriptor_offset + h_.descriptor_size) * kSectorSize;
    if (end > file_size_) {
      fail("descriptor_offset",
           "embedded descriptor ends past end of file (" + hex(end) + " > " + hex(file_size_) + ")");
    }
  }

  // The primary directory: inside the file and clear of the header and the descriptor.
  void check_directory(const format::GrainGeometry& g) const {
    std::uint64_t gd = h_.gd_offset;
    if (gd == 0 || gd >= kMaxSector)
      fail("gd_offset", "grain directory offset " + hex(gd) + " is out of range");
    std::uint64_t desc_end = h_.descriptor_offset + h_.descriptor_size;
    if (h_.descriptor_offset != 0 && gd < desc_end && gd + g.gd_sectors > h_.descriptor_offset) {
      fail("gd_offset", "grain directory at sector " + hex(gd) + " overlaps the embedded descriptor");
    }
    std::uint64_t end = gd * kSectorSize + g.num_gd_entries * 4;
    if (end > file_size_) {
      fail("gd_offset", "grain directory ends past end of file (" + hex(end) + " > " + hex(file_size_) + ")");
    }
  }

 private:
  const SparseHeader& h_;
  const std::string& file_;
  std::uint64_t base_;
  std::string what_;
  std::uint64_t file_size_;
};

// Layout A (3.5): footer marker, footer, EOS in the last three sectors.
SparseHeader read_footer(const ByteSource& file, std::uint64_t file_size, std::uint64_t& footer_offset) {
  const std::string& name = file.name();
  if (file_size < 4 * kSectorSize) {
    throw FormatError(name, "stream footer is missing: the file is too short (" + hex(file_size) + ")",
                      file_size);
  }
  std::array<std::uint8_t, 3 * kSectorSize> tail{};
  std::uint64_t marker_at = file_size - 3 * kSectorSize;
  read_exact(file, marker_at, tail, "stream footer");
  std::span<const std::uint8_t> bytes(tail);
  format::Marker marker = format::decode_marker(bytes.subspan(0, kSectorSize));
  if (marker.size != 0 || marker.type != static_cast<std::uint32_t>(format::MarkerType::footer)) {
    throw FormatError(name,
                      "stream footer marker at " + hex(marker_at) + " is missing or damaged (size " +
                          hex(marker.size) + ", type " + std::to_string(marker.type) + ")",
                      marker_at);
  }
  std::uint64_t eos_at = file_size - kSectorSize;
  format::Marker eos = format::decode_marker(bytes.subspan(2 * kSectorSize, kSectorSize));
  if (eos.value != 0 || eos.size != 0 || eos.type != static_cast<std::uint32_t>(format::MarkerType::eos)) {
    throw FormatError(name, "end-of-stream marker at " + hex(eos_at) + " is missing or damaged", eos_at);
  }
  footer_offset = file_size - 2 * kSectorSize;
  return format::decode_sparse_header(bytes.subspan(kSectorSize, kSectorSize));
}

}  // namespace

namespace {
SparseHeader read_header_of(const ByteSource& file, std::uint64_t file_size) {
  std::array<std::uint8_t, format::kSparseHeaderSize> bytes{};
  read_exact(file, 0, bytes, "sparse header");
  SparseHeader header = format::decode_sparse_header(bytes);
  HeaderChecker(header, file.name(), 0, "sparse header", file_size).check_magic();
  return header;
}
}  // namespace

format::SparseHeader read_sparse_header(const ByteSource& file) { return read_header_of(file, file.size()); }

KdmvLayout load_kdmv_layout(const ByteSource& file) {
  KdmvLayout layout;
  layout.name = file.name();
  layout.file_size = file.size();
  layout.header = read_header_of(file, layout.file_size);
  HeaderChecker header_check(layout.header, layout.name, 0, "sparse header", layout.file_size);
  header_check.check_fields();
  layout.effective = layout.header;
  if (layout.header.gd_offset == format::kGdAtEnd) {
    if ((layout.header.flags & format::kFlagCompressed) == 0) {
      header_check.fail("gd_offset", "puts the grain directory at the end but the extent is not compressed");
    }
    SparseHeader footer = read_footer(file, layout.file_size, layout.footer_offset);
    HeaderChecker footer_check(footer, layout.name, layout.footer_offset, "stream footer", layout.file_size);
    footer_check.check_magic();
    footer_check.check_fields();
    if (footer.gd_offset == format::kGdAtEnd) {
      footer_check.fail("gd_offset", "does not give the grain directory offset");
    }
    if ((footer.flags & format::kFlagCompressed) == 0) {
      footer_check.fail("flags", "lacks the compression flag of its stream header");
    }
    layout.footer = footer;
    layout.effective = footer;
  }
  const SparseHeader& h = layout.effective;
  layout.geometry = format::grain_geometry(h.capacity, h.grain_size, h.num_gtes_per_gt);
  HeaderChecker(h, layout.name, layout.footer ? layout.footer_offset : 0,
                layout.footer ? "stream footer" : "sparse header", layout.file_size)
      .check_directory(layout.geometry);
  layout.grain_bytes = h.grain_size * kSectorSize;
  layout.gt_coverage_bytes = layout.geometry.gt_coverage_sectors * kSectorSize;
  layout.capacity_bytes = h.capacity * kSectorSize;
  layout.gd_byte_offset = h.gd_offset * kSectorSize;
  // The descriptor location comes from sector 0 (a footer copy may leave it out).
  std::uint64_t desc_end = layout.header.descriptor_offset != 0
                               ? layout.header.descriptor_offset + layout.header.descriptor_size
                               : 1;
  layout.table_floor_sector = std::max<std::uint64_t>(1, desc_end);
  layout.grain_floor_sector = std::max(h.overhead, layout.table_floor_sector);
  layout.compressed = (h.flags & format::kFlagCompressed) != 0;
  layout.markers = (h.flags & format::kFlagEmbeddedLba) != 0;
  return layout;
}

}  // namespace vmdk::sparse
