// Entry points of the hosted sparse (KDMV) kinds: monolithic/split sparse
// extents and streamOptimized extents share the magic and are told apart by their header flags.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "extent/kind.hpp"
#include "vmdk/extent.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sparse {

/// True when the file starts with the KDMV magic.
bool has_sparse_magic(const ByteSource& file);

/// The flags field of a KDMV header (bytes 8..11), nullopt when the file does not start with the
/// KDMV magic (0 when the file is too short to hold them): the probe of the sparse and stream kinds. Throws IoError.
std::optional<std::uint32_t> kdmv_flags(const ByteSource& file);

/// The embedded descriptor area of a KDMV file (offset and size from the header, text as
/// read_embedded_descriptor gives it); nullopt when the header reserves no area. Throws FormatError
/// as read_embedded_descriptor.
std::optional<extent::EmbeddedDescriptor> embedded_descriptor_area(const ByteSource& file);

/// The embedded descriptor text of a KDMV file, cut at the first NUL; nullopt when the header has
/// no descriptor area or the area starts with NUL (QEMU split parts reserve one and leave it empty).
/// Throws FormatError when the header or the descriptor area is out of range.
std::optional<std::string> read_embedded_descriptor(const ByteSource& file);

/// Capacity in bytes from the header (the footer for stream files with the directory at the end):
/// used for bare extents that have no descriptor.
std::uint64_t header_capacity_bytes(const ByteSource& file);

/// Capacity in bytes from the header of a KDMV file whose descriptor is lost (the rebuild_capacity
/// of the sparse and stream kinds): a damaged directory, a capacity that is not a grain multiple
/// and an embedded descriptor in a split part are warnings. Throws FormatError for a bad magic or
/// capacity.
std::uint64_t rebuild_kdmv_capacity(const ByteSource& file, std::vector<std::string>& warnings);

/// Opens a KDMV extent (hosted sparse or stream, as the kind table's probe tells) covering size_bytes of virtual space (from the descriptor line, which is
/// authoritative even when the header capacity differs). Validates the header (vmdk-format.md 7.1)
/// and the directory location. Throws FormatError / UnsupportedError naming the file.
std::unique_ptr<Extent> open_sparse_extent(std::shared_ptr<const ByteSource> file, std::uint64_t size_bytes);

}  // namespace vmdk::sparse
