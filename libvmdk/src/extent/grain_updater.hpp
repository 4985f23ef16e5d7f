// The in-place updater every grain-mapped extent kind implements (hosted sparse, COWD, SESparse):
// grains are staged and become visible only at commit(), in the crash-safe order of DESIGN.md.
// Kinds open theirs through the kind table (extent/kind.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "vmdk/io.hpp"

namespace vmdk::extent {

class GrainUpdater {
 public:
  virtual ~GrainUpdater() = default;

  virtual std::uint64_t grain_bytes() const = 0;
  virtual std::uint64_t capacity_bytes() const = 0;  ///< from the header
  /// True when the extent can hold zeroed-grain entries (hosted sparse flag bit 2, SESparse type 2).
  virtual bool zeroed_grains() const = 0;

  /// Stages the whole content of grain `grain_index` (data.size() == grain_bytes()). The grain is
  /// always appended, never overwritten in place (redirect-on-write), so that a kill at any moment
  /// leaves the grain reading either its old or its new bytes; an old copy becomes a leak.
  /// Staging the same grain twice before commit() rewrites the staged copy. Throws IoError,
  /// UsageError (index past capacity, wrong size), FormatError (file would pass 2^32 sectors).
  virtual void stage_grain(std::uint64_t grain_index, std::span<const std::uint8_t> data) = 0;
  /// Stages a zeroed-grain entry (1) for the grain; requires zeroed_grains() (UsageError otherwise).
  virtual void stage_zeroed(std::uint64_t grain_index) = 0;
  /// Stages an unallocated entry (0): the grain then reads from the parent, or as zeros in a base.
  virtual void stage_unallocated(std::uint64_t grain_index) = 0;

  /// Byte offset in the file of grain_index's committed data when this extent holds it as a plain
  /// grain, nullopt when its entry is unallocated or zeroed. Throws FormatError (damaged table).
  virtual std::optional<std::uint64_t> grain_host_offset(std::uint64_t grain_index) const = 0;
  /// Overwrites in place the whole grain grain_index that this extent already holds (UsageError
  /// otherwise). Not atomic against a kill: only for callers that keep the range hidden until the
  /// write is durable (consolidation writes under the layers being merged and re-runs from its
  /// journal). Durable at the next commit() or flush().
  virtual void overwrite_grain(std::uint64_t grain_index, std::span<const std::uint8_t> data) = 0;
  /// Makes in-place overwrites durable (fsync).
  virtual void flush() = 0;

  /// Makes the staged grains durable (fsync), then writes their entries into the primary and then
  /// the redundant grain tables, creating a table (content first, directory entry after) where a
  /// directory entry is 0, and fsyncs again. Nothing staged: no I/O. Throws IoError.
  virtual void commit() = 0;
  /// Entries staged and not yet committed.
  virtual std::size_t staged() const = 0;
};

/// overwrite_grain() of every updater kind: checks the size, finds the grain's committed copy
/// through updater.grain_host_offset() and writes data over it in file (named name in messages).
/// UsageError for a wrong size or a grain the extent does not hold.
void overwrite_held_grain(const GrainUpdater& updater, ByteSink& file, const std::string& name,
                          std::uint64_t grain_index, std::span<const std::uint8_t> data);

}  // namespace vmdk::extent
