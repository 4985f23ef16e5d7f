// What repairing extent files changes, collected before the first write: each kind's repair hook
// adds to it, and ops/repair saves every byte it will overwrite for undo, then applies it in the
// crash-safe order of DESIGN.md (data, fsync, tables and directories, fsync, truncations, headers).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "vmdk/repair.hpp"

namespace vmdk::extent {

struct PlannedWrite {
  std::filesystem::path file;
  std::uint64_t offset = 0;
  std::vector<std::uint8_t> bytes;
};

/// The changes of extent files and what they cost; ops::RepairPlan adds descriptor edits.
struct RepairPlan {
  std::vector<PlannedWrite> data;      ///< grains copied into free space
  std::vector<PlannedWrite> metadata;  ///< grain tables, then directories, then rebuilt stream tails
  std::vector<std::pair<std::filesystem::path, std::uint64_t>> truncations;  ///< new file sizes
  std::vector<PlannedWrite> headers;   ///< header fields (unclean shutdown), last of a file's changes
  std::vector<RepairAction> actions;
  std::vector<LostRange> lost;
  std::vector<KeptGrain> kept;  ///< unreferenced bytes left in place (not reclaimed)
  /// Input: bytes earlier repairs (or earlier rounds of this one) kept; planning never reclaims them.
  std::vector<KeptGrain> known_kept;
};

/// The extent file a repair hook plans for, and where its descriptor line puts it.
struct RepairTarget {
  std::filesystem::path path;    ///< the extent file
  std::string disk;              ///< the layer (its descriptor path), for lost and kept ranges
  std::uint64_t slot_start = 0;  ///< first virtual byte of the extent in disk
  std::uint64_t slot_length = 0;  ///< bytes the descriptor line gives the extent
};

}  // namespace vmdk::extent
