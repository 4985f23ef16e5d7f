// Writer of a new flat extent (monolithicFlat, twoGbMaxExtentFlat and vmfs data files,
// vmdk-format.md 1.6): data written in place, everything else left as a hole of the file.
#pragma once

#include <cstdint>
#include <memory>

#include "extent/extent_writer.hpp"
#include "vmdk/io.hpp"

namespace vmdk::flat {

/// A writer over file (random access, expected empty) whose final size is size_bytes.
std::unique_ptr<ExtentWriter> make_flat_writer(std::shared_ptr<ByteSink> file, std::uint64_t size_bytes);

}  // namespace vmdk::flat
