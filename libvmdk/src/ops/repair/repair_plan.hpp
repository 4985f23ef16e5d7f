// What a repair will write, collected before the first write so that every overwritten byte can
// be saved for undo first, then applied in the crash-safe order of DESIGN.md: data, fsync,
// tables and directories, fsync, truncations, header flags, descriptors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ops/common/descriptor_store.hpp"
#include "ops/repair/undo_log.hpp"
#include "vmdk/repair.hpp"

namespace vmdk::ops {

struct PlannedWrite {
  std::filesystem::path file;
  std::uint64_t offset = 0;
  std::vector<std::uint8_t> bytes;
};

struct PlannedDescriptor {
  DescriptorHome home;
  std::string text;
};

struct RepairPlan {
  std::vector<PlannedWrite> data;      ///< grains copied into free space
  std::vector<PlannedWrite> metadata;  ///< grain tables, then directories, then rebuilt stream tails
  std::vector<std::pair<std::filesystem::path, std::uint64_t>> truncations;  ///< new file sizes
  std::vector<PlannedWrite> headers;   ///< header fields (unclean shutdown), last of a file's changes
  std::vector<PlannedDescriptor> descriptors;
  std::vector<RepairAction> actions;
  std::vector<LostRange> lost;
  std::vector<KeptGrain> kept;        ///< unreferenced bytes left in place (not reclaimed)
  /// Input: bytes earlier repairs (or earlier rounds of this one) kept; planning never reclaims them.
  std::vector<KeptGrain> known_kept;

  bool writes_nothing() const {
    return data.empty() && metadata.empty() && truncations.empty() && headers.empty() && descriptors.empty();
  }
};

/// Saves into log every byte range plan will overwrite or cut off.
void save_for_undo(const RepairPlan& plan, UndoLog& log);

/// Applies plan in its phases, fsyncing each file between them. Throws IoError.
void apply_plan(const RepairPlan& plan);

}  // namespace vmdk::ops
