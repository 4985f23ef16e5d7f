// Internal helpers of snapshot and children: the cheap descriptor peek used to find a disk's
// children, and the `<base>-NNNNNN.vmdk` naming of new delta links (vmdk-format.md 5.1, 6.6).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "vmdk/descriptor.hpp"

namespace vmdk::ops {

/// The descriptor of a file, read cheaply: a KDMV file's embedded descriptor or the first 64 KiB
/// of a text descriptor. nullopt for anything else (flat data, bare extents, unreadable or
/// malformed files): never throws except std::bad_alloc.
std::optional<Descriptor> peek_descriptor(const std::filesystem::path& file);

/// The base of a delta name: the file's stem without a trailing "-NNNNNN" (six digits).
/// "base.vmdk" -> "base", "base-000003.vmdk" -> "base", "a-12.vmdk" -> "a-12".
std::string snapshot_base_name(const std::filesystem::path& disk);

/// The first free `<base>-NNNNNN.vmdk` beside disk (N from 1): a number is taken when any entry of
/// the folder starts with `<base>-NNNNNN` (a descriptor, its -s001/-delta/-flat files, a temporary
/// `.<base>-NNNNNN...`). Throws UsageError when all 999999 are taken, IoError when the folder
/// cannot be listed.
std::filesystem::path next_snapshot_path(const std::filesystem::path& disk);

}  // namespace vmdk::ops
