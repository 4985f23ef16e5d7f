// One link of a chain: a descriptor (standalone or embedded in a sparse file) and its extents,
// mapped one after the other into the link's virtual address space.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmdk/descriptor.hpp"
#include "vmdk/extent.hpp"

namespace vmdk {

/// Locks between programs (DESIGN.md safety rules): OFD locks, shared while reading, exclusive
/// while changing, taken by Chain::open and by every operation that changes files.
struct LockOptions {
  /// Take the locks. Off only where the caller already holds them or plans without them.
  bool enabled = true;
  /// Seconds to retry a lock another program holds; 0 refuses at once (never an endless wait).
  double wait_seconds = 0;
};

struct OpenOptions {
  /// Accept extent and parent paths that leave the descriptor's folder (absolute paths, "..",
  /// device nodes, symlinks pointing elsewhere). Off by default: disks may come from strangers.
  bool allow_outside_paths = false;
  /// Open even when extent files are missing or of a kind not yet readable (for `info`); such
  /// slots have a null extent and a problem text, and reading them throws.
  bool allow_missing_extents = false;
  /// With allow_missing_extents: an extent whose header or tables are damaged also leaves a null
  /// slot with a "damaged: ..." problem instead of failing the open (for `check` and `repair`).
  bool allow_damaged_extents = false;
  /// Untrusted input: refuse anything outside one self-contained file (an extent in another file,
  /// a parent). Wins over allow_outside_paths.
  bool strict = false;
  /// Locks Chain::open and the operations take (Disk::open alone takes none).
  LockOptions lock;
};

/// One extent line of the disk with the extent opened from it.
struct ExtentSlot {
  ExtentLine line;
  std::uint64_t start = 0;        ///< first virtual byte covered, in the disk
  std::uint64_t length = 0;       ///< line.sectors * 512
  std::filesystem::path path;     ///< resolved host file; empty for ZERO
  std::shared_ptr<Extent> extent; ///< null when the file is missing or the kind unsupported
  std::string problem;            ///< why extent is null ("missing", "unsupported: ...", "damaged: ...")
  std::string problem_file;       ///< damaged slots: the file the damage is in
  std::optional<std::uint64_t> problem_offset;  ///< damaged slots: the damaged structure's offset
};

/// A run of the disk's own layer, in disk coordinates, with the slot that answered.
struct DiskRun : Run {
  std::size_t extent_index = 0;
};

class Disk {
 public:
  /// Opens a descriptor file, or a sparse/stream file with an embedded descriptor (its single
  /// extent is the file itself, whatever name the descriptor gives), or a bare sparse extent.
  /// Throws FormatError, IoError, UnsupportedError (all naming the file).
  static std::unique_ptr<Disk> open(const std::filesystem::path& path, const OpenOptions& options = {});
  virtual ~Disk() = default;

  const std::filesystem::path& path() const { return path_; }
  const Descriptor& descriptor() const { return descriptor_; }
  bool embedded_descriptor() const { return embedded_; }
  std::uint64_t capacity() const { return capacity_; }  ///< bytes: sum of the extent lines
  const std::vector<ExtentSlot>& extents() const { return slots_; }
  /// True when every extent opened.
  bool complete() const;
  /// What opening assumed that the user should hear (a bare sparse extent read alone), as
  /// "<file>: <message>" lines; Chain::open passes them on in its warnings().
  const std::vector<std::string>& warnings() const { return warnings_; }
  /// Bytes of host files holding this layer's data (grains for sparse, file sizes for flat).
  std::uint64_t allocated_bytes() const;

  /// Appends this layer's runs over [offset, offset+length) (must lie inside the capacity).
  void map(std::uint64_t offset, std::uint64_t length, std::vector<DiskRun>& out) const;
  /// This layer's bytes (unallocated and zero read as zeros). Throws for missing/NOACCESS extents.
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const;

 protected:
  Disk() = default;
  std::filesystem::path path_;
  Descriptor descriptor_;
  bool embedded_ = false;
  std::uint64_t capacity_ = 0;
  std::vector<ExtentSlot> slots_;
  std::vector<std::string> warnings_;
};

}  // namespace vmdk
