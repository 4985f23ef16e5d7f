// Entry points of the KDMV kinds (vmdk-format.md 0.4, 1.1, 2, 3): magic probe, embedded
// descriptor, header capacity, and the factory choosing sparse or stream by the header flags.
#include "extent/sparse/open_sparse.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "extent/sparse/kdmv_layout.hpp"
#include "extent/sparse/sparse_extent.hpp"
#include "extent/stream/stream_extent.hpp"
#include "format/grain_directory.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

bool has_sparse_magic(const ByteSource& file) {
  std::array<std::uint8_t, 4> bytes{};
  return file.read_at(0, bytes) == bytes.size() && format::has_kdmv_magic(bytes);
}

std::optional<std::string> read_embedded_descriptor(const ByteSource& file) {
  format::SparseHeader h = read_sparse_header(file);
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

std::unique_ptr<Extent> open_sparse_extent(std::shared_ptr<const ByteSource> file, std::uint64_t size_bytes) {
  if (!file) throw UsageError("", "open_sparse_extent needs a file");
  KdmvLayout layout = load_kdmv_layout(*file);
  if (layout.compressed) {
    return std::make_unique<stream::StreamExtent>(std::move(file), std::move(layout), size_bytes);
  }
  return std::make_unique<SparseExtent>(std::move(file), std::move(layout), size_bytes);
}

}  // namespace vmdk::sparse
