// The in-place updater of an extent, whichever grain-mapped kind it is: the one place that maps
// an extent's format (ExtentDetails::format) to the updater that writes it.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "extent/sparse/sparse_updater.hpp"
#include "vmdk/io.hpp"

namespace vmdk::extent {

/// True for the formats open_updater() writes: "sparse" (hosted KDMV), "cowd" (vmfsSparse),
/// "sesparse".
bool has_updater(std::string_view format);

/// Opens file, an extent of the given format whose descriptor line gives size_bytes, for grain
/// updates. Throws UsageError for a format without updater (a programming error: ask has_updater
/// first), and what the kind's updater throws (FormatError, UnsupportedError, IoError).
std::unique_ptr<sparse::SparseUpdater> open_updater(std::string_view format, std::shared_ptr<File> file,
                                                    std::uint64_t size_bytes);

}  // namespace vmdk::extent
