// In-place updates of an ESXi vmfsSparse (COWD) delta extent (vmdk-format.md 4.2.2): grains and
// new grain tables are appended at the first free sector and become visible only at commit().
#pragma once

#include <cstdint>
#include <memory>

#include "extent/grain_updater.hpp"
#include "vmdk/io.hpp"

namespace vmdk::cowd {

/// Opens a COWD extent of size_bytes (its descriptor line's size) for update, behind the updater
/// interface of hosted sparse extents. Validates the header and directory as the reader does.
/// commit() order (DESIGN.md safety rules): staged grains and zero-filled new tables with their
/// entries, fsync; entries in existing tables, then directory entries of new tables, fsync; then
/// freeSector in the header, fsync. COWD has no zeroed-grain entry that QEMU reads, so
/// zeroed_grains() is false. Throws FormatError, UnsupportedError, IoError.
std::unique_ptr<extent::GrainUpdater> open_cowd_updater(std::shared_ptr<File> file,
                                                         std::uint64_t size_bytes);

}  // namespace vmdk::cowd
