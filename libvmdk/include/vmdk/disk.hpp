// One link of a chain: a descriptor (standalone or embedded in a sparse file) and its extents,
// mapped one after the other into the link's virtual address space.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
  /// slots have a null extent and a problem, and reading them throws.
  bool allow_missing_extents = false;
  /// With allow_missing_extents: an extent whose header or tables are damaged also leaves a null
  /// slot with a damaged problem instead of failing the open (for `check` and `repair`).
  bool allow_damaged_extents = false;
  /// Untrusted input: refuse anything outside one self-contained file (an extent in another file,
  /// a parent). Wins over allow_outside_paths.
  bool strict = false;
  /// Locks Chain::open and the operations take (Disk::open alone takes none).
  LockOptions lock;
};

/// Why an extent slot has no extent (a state, not a text to parse).
enum class ExtentProblemKind {
  none,         ///< the extent opened
  missing,      ///< the file does not exist
  refused,      ///< the path is refused (outside the folder, --strict) or the file cannot be opened
  unsupported,  ///< a kind or header this version cannot read
  short_file,   ///< a FLAT/VMFS file shorter than its line
  damaged,      ///< the header or tables are damaged (allow_damaged_extents)
};
/// "", "missing", "refused", "unsupported", "short", "damaged".
std::string_view to_string(ExtentProblemKind kind);

struct ExtentProblem {
  ExtentProblemKind kind = ExtentProblemKind::none;
  std::string message;  ///< what is wrong, naming the extent line; empty for none and missing
  std::string file;     ///< damaged: the file the damage is in
  std::optional<std::uint64_t> offset;  ///< damaged: the damaged structure's offset

  explicit operator bool() const { return kind != ExtentProblemKind::none; }
  /// For people: "missing", or "<kind>: <message>" ("unsupported: extent 2 (VMFSRDM ...): ..."); "" for none.
  std::string text() const;
};

/// One extent line of the disk with the extent opened from it.
struct ExtentSlot {
  ExtentLine line;
  std::uint64_t start = 0;        ///< first virtual byte covered, in the disk
  std::uint64_t length = 0;       ///< line.sectors * 512
  std::filesystem::path path;     ///< resolved host file; empty for ZERO
  std::shared_ptr<Extent> extent; ///< null when the file is missing or the kind unsupported
  ExtentProblem problem;          ///< why extent is null (kind none when it opened)
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
