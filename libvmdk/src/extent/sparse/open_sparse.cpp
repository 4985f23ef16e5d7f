// Entry points of the KDMV kinds (vmdk-format.md 0.4, 1.1, 2, 3): magic probe, embedded
// descriptor, header capacity, and the opener that lets the kind table choose sparse or stream.
#include "extent/sparse/open_sparse.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "extent/sparse/kdmv_layout.hpp"
#include "extent/capacity_field.hpp"
#include "extent/kind_table.hpp"
#include "io/checked_math.hpp"
#include "format/endian.hpp"
#include "format/grain_directory.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

bool has_sparse_magic(const ByteSource& file) {
  std::array<std::uint8_t, 4> bytes{};
  return file.read_at(0, bytes) == bytes.size() && format::has_kdmv_magic(bytes);
}

std::optional<std::uint32_t> kdmv_flags(const ByteSource& file) {
  std::array<std::uint8_t, 12> bytes{};  // magic, version, flags
  const std::size_t got = file.read_at(0, bytes);
  if (got < 4 || !format::has_kdmv_magic(bytes)) return std::nullopt;
  // A KDMV file too short for its flags is still this family's: its loader reports it as short.
  return got == bytes.size() ? format::load_le32(bytes, 8) : 0;
}

// The descriptor text of a file whose header h is already decoded (one header read per open).
std::optional<std::string> embedded_descriptor_text(const ByteSource& file, const format::SparseHeader& h);

std::optional<extent::EmbeddedDescriptor> embedded_descriptor_area(const ByteSource& file) {
  const format::SparseHeader h = read_sparse_header(file);
  std::optional<std::string> text = embedded_descriptor_text(file, h);
  if (h.descriptor_offset == 0 || h.descriptor_size == 0) return std::nullopt;
  return extent::EmbeddedDescriptor{h.descriptor_offset * format::kSectorSize,
                                    h.descriptor_size * format::kSectorSize, std::move(text)};
}

std::optional<std::string> read_embedded_descriptor(const ByteSource& file) {
  return embedded_descriptor_text(file, read_sparse_header(file));
}

std::optional<std::string> embedded_descriptor_text(const ByteSource& file, const format::SparseHeader& h) {
  const std::string& name = file.name();
  if (h.descriptor_offset == 0 || h.descriptor_size == 0) return std::nullopt;
  const auto& size_field = format::sparse_header_field("descriptor_size");
  if (h.descriptor_size > format::kMaxDescriptorSectors) {
    throw FormatError(name, "sparse header descriptor size " + hex(h.descriptor_size) + " sectors exceeds " +
                                hex(format::kMaxDescriptorSectors), size_field.offset);
  }
  const auto& offset_field = format::sparse_header_field("descriptor_offset");
  const std::uint64_t file_size = file.size();
  if (h.descriptor_offset >= (1ull << 32) ||
      (h.descriptor_offset + h.descriptor_size) * format::kSectorSize > file_size) {
    throw FormatError(name, "embedded descriptor at sector " + hex(h.descriptor_offset) + " (" +
                                hex(h.descriptor_size) + " sectors) ends past end of file (" + hex(file_size) + ")",
                      offset_field.offset);
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(h.descriptor_size * format::kSectorSize));
  read_exact(file, h.descriptor_offset * format::kSectorSize, bytes, "embedded descriptor");
  auto nul = std::find(bytes.begin(), bytes.end(), std::uint8_t{0});
  if (nul == bytes.begin()) return std::nullopt;  // reserved but empty (QEMU split parts)
  return std::string(bytes.begin(), nul);
}

std::uint64_t header_capacity_bytes(const ByteSource& file) {
  return load_kdmv_layout(file).capacity_bytes;
}

std::uint64_t rebuild_kdmv_capacity(const ByteSource& file, std::vector<std::string>& warnings) {
  const format::SparseHeader header = read_sparse_header(file);  // throws for a bad magic
  const std::uint64_t bytes = extent::capacity_field_bytes(header.capacity, file.name(), "sparse header capacity",
                                                           format::sparse_header_field("capacity").offset);
  try {
    // The full check a reader makes; a damaged directory should not stop the descriptor from being
    // written (check and repair work through it), so it is a warning here.
    load_kdmv_layout(file);
  } catch (const Error& e) {
    warnings.push_back(std::string(e.what()) + " (the descriptor is written anyway; run check)");
  }
  if (vmdk::is_power_of_two(header.grain_size) && header.capacity % header.grain_size != 0) {
    warnings.push_back(
        file.name() + ": capacity " + hex(header.capacity) +
        " sectors is not a multiple of the grain size; QEMU and libvmdk misplace later extents");
  }
  std::optional<std::string> embedded;
  try {
    embedded = read_embedded_descriptor(file);
  } catch (const Error&) {
  }
  if (embedded) {
    warnings.push_back(file.name() +
                       ": carries its own embedded descriptor, like a monolithic disk; "
                       "it is described as a part of a split set as its name says");
  }
  return bytes;
}

std::unique_ptr<Extent> open_sparse_extent(std::shared_ptr<const ByteSource> file, std::uint64_t size_bytes) {
  if (!file) throw UsageError("", "open_sparse_extent needs a file");
  const extent::ExtentKind& kind = extent::kind_for_line(ExtentType::sparse, file.get());
  return kind.open_reader({std::move(file), 0, size_bytes});
}

}  // namespace vmdk::sparse
