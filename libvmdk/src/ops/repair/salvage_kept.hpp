// `repair --salvage DIR`: the grains repair kept, each written out as a file of its own.
#pragma once

#include <filesystem>
#include <vector>

#include "vmdk/repair.hpp"

namespace vmdk::ops {

/// Writes the bytes of every kept grain into dir (created when missing) as
/// "<extent file name>@<hex offset>.grain" and adds each name to its grain's `salvaged`. A file
/// that already holds exactly those bytes is reused; one holding other bytes is never replaced
/// (the name gets "-2", "-3", ...). With dry_run nothing is written, the names are only listed.
/// Each file is fsynced before its rename, and dir after, only with Durability::synced (--sync).
/// Throws IoError.
void salvage_kept(std::vector<KeptGrain>& kept, const std::filesystem::path& dir, bool dry_run,
                  Durability durability);

}  // namespace vmdk::ops
