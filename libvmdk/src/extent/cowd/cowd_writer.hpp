// Writer of a new, empty ESXi vmfsSparse (COWD) delta extent (vmdk-format.md 4.2): the header and
// an empty grain directory. Grains are added later, in place, by the COWD updater.
#pragma once

#include <cstdint>
#include <memory>

#include "extent/extent_writer.hpp"
#include "vmdk/io.hpp"

namespace vmdk::cowd {

/// A writer over file (random access, expected empty) for a delta of capacity_bytes (a multiple of
/// 512 below 2 TiB: numSectors is 32-bit, else UsageError). Header as ESXi writes it: version 1,
/// flags 3, 1-sector grains, directory at sector 4, freeSector right after the directory.
/// write() accepts only zeros (a new delta starts empty; data goes through the updater) and
/// throws UnsupportedError otherwise.
std::unique_ptr<ExtentWriter> make_cowd_writer(std::shared_ptr<ByteSink> file, std::uint64_t capacity_bytes);

}  // namespace vmdk::cowd
