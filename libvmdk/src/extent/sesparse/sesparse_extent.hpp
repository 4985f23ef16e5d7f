// ESXi SESparse extent (vmdk-format.md 4.3): block status, map and reads that coalesce grains
// following each other on disk. Read-only: the journal, bitmap and backmap formats are not public.
#pragma once

#include <cstdint>
#include <memory>

#include "vmdk/extent.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sesparse {

/// True when the file starts with the 8-byte SESparse magic.
bool has_sesparse_magic(const ByteSource& file);

/// Opens a SESparse extent covering size_bytes of virtual space (the descriptor line's size).
/// Validates both headers, the regions and the grain directory; grain tables are checked as they
/// are first read. Throws FormatError / UnsupportedError / IoError naming the file and offset.
std::unique_ptr<Extent> open_sesparse_extent(std::shared_ptr<const ByteSource> file,
                                             std::uint64_t size_bytes);

}  // namespace vmdk::sesparse
