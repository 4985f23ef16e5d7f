// ESXi vmfsSparse delta extent (COWD, vmdk-format.md 4.2): block status, map and reads that
// coalesce grains following each other on disk. Read-only; writers are a separate concern.
#pragma once

#include <cstdint>
#include <memory>

#include "vmdk/extent.hpp"
#include "vmdk/io.hpp"

namespace vmdk::cowd {

/// True when the file starts with the COWD magic.
bool has_cowd_magic(const ByteSource& file);

/// Opens a COWD extent covering size_bytes of virtual space (the descriptor line's size). Validates
/// the header and the grain directory; grain tables are checked as they are first read.
/// Throws FormatError / UnsupportedError / IoError naming the file and the offset of the damage.
std::unique_ptr<Extent> open_cowd_extent(std::shared_ptr<const ByteSource> file, std::uint64_t size_bytes);

}  // namespace vmdk::cowd
