// In-place updates of an ESXi SESparse delta extent (vmdk-format.md 4.3.3): grains are appended to
// the grains region, tables taken from the pre-reserved tables region, and both become visible only
// at commit().
#pragma once

#include <cstdint>
#include <memory>

#include "extent/grain_updater.hpp"
#include "vmdk/io.hpp"

namespace vmdk::sesparse {

/// Opens a SESparse extent of size_bytes (its descriptor line's size) for update, behind the
/// generic updater interface (extent/grain_updater.hpp). Validates the headers and directory as the reader
/// does (a journal to replay is refused). Zero grains are type-2 entries, so zeroed_grains() is
/// true. commit() order (DESIGN.md safety rules): staged grains and new tables holding their
/// entries, fsync; entries in existing tables, then directory entries of new tables, fsync; then
/// the bookkeeping ESXi keeps for space reclamation (free bitmap, backmap, the volatile header's
/// next free table), fsync. Throws FormatError, UnsupportedError, IoError.
std::unique_ptr<extent::GrainUpdater> open_sesparse_updater(std::shared_ptr<File> file,
                                                             std::uint64_t size_bytes);

}  // namespace vmdk::sesparse
