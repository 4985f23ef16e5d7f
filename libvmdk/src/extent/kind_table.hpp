// The table of extent kinds (DESIGN.md rule 1): lookup by descriptor line type and probe, by
// createType, by magic for bare files. The built-in kinds are listed once, in kinds/builtin.cpp
// (a static library drops self-registering objects); a test registers its own with register_kind().
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "extent/kind.hpp"

namespace vmdk::extent {

/// Adds kind to the table, asked after the kinds already there. Thread-safe.
void register_kind(std::shared_ptr<const ExtentKind> kind);
/// Removes a kind that register_kind() added (tests clean up after themselves). Thread-safe.
void unregister_kind(const ExtentKind* kind);

/// The kind that opens a descriptor line of `type` whose file is `file` (nullptr for lines without
/// one): the first kind serving the type whose probe claims the file, else the first kind serving
/// it (which then reports what is wrong with the file). Throws UnsupportedError when no kind
/// serves the type (raw device mappings); IoError from a failing probe read.
const ExtentKind& kind_for_line(ExtentType type, const ByteSource* file);

/// The kind whose extents make up new disks of createType `type`; nullptr when none writes it (raw).
const ExtentKind* kind_for_create_type(DiskType type);

/// The kind that holds its own descriptor and whose probe claims file (a bare monolithic file), or
/// nullptr. Throws IoError from a failing read.
const ExtentKind* self_describing_kind(const ByteSource& file);

/// The first kind whose probe claims file by its magic (any kind, whatever line type it serves), or
/// nullptr (flat data, text). Throws IoError from a failing read.
const ExtentKind* kind_by_magic(const ByteSource& file);

/// Opens the in-place updater of the extent a descriptor line of `type` names, found by the table.
/// Throws UsageError for a kind that is not writable in place, and what the kind's updater throws.
std::unique_ptr<GrainUpdater> open_updater_for(ExtentType type, std::shared_ptr<File> file,
                                               std::uint64_t size_bytes);

/// The built-in kinds in the order the table asks them, defined in kinds/builtin.cpp (the one place
/// that names them all, above the kind folders).
std::vector<std::shared_ptr<const ExtentKind>> builtin_kinds();

}  // namespace vmdk::extent
