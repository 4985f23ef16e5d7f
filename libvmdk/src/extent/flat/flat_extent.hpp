// FLAT and VMFS extents: a window of a raw host file, byte x of the extent at byte start + x of the
// file (vmdk-format.md 1.6, 4.1). The whole extent is data of its own layer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "vmdk/extent.hpp"
#include "vmdk/io.hpp"

namespace vmdk::flat {

/// Opens a flat extent of size_bytes starting at byte start_bytes of file. Throws FormatError
/// naming the file when it is shorter than start_bytes + size_bytes (never silent zeros).
std::unique_ptr<Extent> open_flat_extent(std::shared_ptr<const ByteSource> file, std::uint64_t start_bytes,
                                         std::uint64_t size_bytes);

}  // namespace vmdk::flat
