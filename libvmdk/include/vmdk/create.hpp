// Write-side operations (DESIGN.md "ops"): create a disk, take a snapshot, write through a chain.
// Writes follow the safety rules: grain data, fsync, grain tables (both copies), fsync, descriptor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmdk/chain.hpp"
#include "vmdk/io.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

/// The createType values vmdkit writes (vmdk-format.md 1.5), plus raw for convert. vmfs_thin is
/// an ESXi thin disk: createType "vmfs" (what ESXi writes and QEMU opens) with
/// ddb.thinProvisioned = "1" (4.1). vmfs_sparse is an ESXi COWD delta and se_sparse an ESXi
/// SESparse delta: only snapshot makes them.
enum class DiskType {
  monolithic_sparse,
  two_gb_sparse,
  monolithic_flat,
  two_gb_flat,
  stream_optimized,
  vmfs,
  raw,
  vmfs_thin,
  vmfs_sparse,
  se_sparse
};
/// "monolithicSparse", "twoGbMaxExtentSparse", "monolithicFlat", "twoGbMaxExtentFlat",
/// "streamOptimized", "vmfs", "raw", "vmfsThin", "vmfsSparse", "seSparse".
std::string_view to_string(DiskType type);
/// Parses a type name case-insensitively (every type but vmfsSparse and seSparse, which only
/// snapshot writes). Throws UsageError listing the valid names.
DiskType parse_disk_type(std::string_view name);

/// Format of the delta a snapshot writes: automatic picks monolithicSparse for hosted parents;
/// for ESXi parents (vmfs flat, vmfsSparse or seSparse extents) seSparse, as ESXi 6.7 and later
/// do, except vmfsSparse under a vmfsSparse parent (a chain keeps its delta kind, as on hosts
/// before VMFS 6) and monolithicSparse when zeroed grains or a grain size are asked for.
enum class DeltaFormat { automatic, sparse, vmfs_sparse, se_sparse };
/// "auto", "sparse", "vmfsSparse", "seSparse".
std::string_view to_string(DeltaFormat format);
/// Parses a delta format name case-insensitively. Throws UsageError listing the valid names.
DeltaFormat parse_delta_format(std::string_view name);

/// ddb.adapterType values (vmdk-format.md 1.7).
enum class Adapter { ide, buslogic, lsilogic, lsisas1068, pvscsi };
std::string_view to_string(Adapter adapter);
/// Throws UsageError listing the valid names.
Adapter parse_adapter(std::string_view name);

/// What a new disk looks like: used by create, convert and fixtures. Values left unset come from
/// the generator seeded by `seed` (random when no seed is given).
struct NewDiskOptions {
  DiskType type = DiskType::monolithic_sparse;
  Adapter adapter = Adapter::lsilogic;
  std::uint32_t hw_version = 4;        ///< ddb.virtualHWVersion
  std::uint64_t grain_size = 65536;    ///< bytes, sparse and stream types: a power of two, 4 KiB..1 MiB
  bool zeroed_grains = false;          ///< sparse: header version 2 + flag bit 2 (zeroed-grain entries)
  int compress_level = 6;              ///< streamOptimized: 0 (stored) .. 9
  unsigned threads = 0;                ///< streamOptimized compression threads; 0 = every core
  std::optional<std::uint64_t> seed;
  std::optional<std::uint32_t> cid;           ///< fixed CID instead of a generated one
  std::optional<std::string> uuid;            ///< fixed ddb.uuid text instead of a generated one
  std::optional<std::string> long_content_id; ///< fixed ddb.longContentID (32 hex digits)
};

// ---------------------------------------------------------------------------------------------
// create

struct CreateOptions : NewDiskOptions {
  std::uint64_t capacity = 0;  ///< bytes; a positive multiple of 512
  /// Replace existing files (never a disk with children or another disk's file).
  bool overwrite = false;
};

struct CreateReport {
  std::string path;
  std::string type;                ///< createType
  std::uint64_t capacity = 0;
  std::uint32_t cid = 0;
  std::vector<std::string> files;  ///< every file written, descriptor first
};

/// Creates an empty disk at path (existing files are a UsageError unless overwrite). Every file is
/// written under a temporary name and renamed when complete, the descriptor last.
/// Throws UsageError (bad size, type raw, file exists), IoError.
CreateReport create(const std::filesystem::path& path, const CreateOptions& options);

// ---------------------------------------------------------------------------------------------
// snapshot

struct SnapshotOptions {
  OpenOptions open;
  bool force = false;            ///< take it even though the parent already has a child
  bool zeroed_grains = false;    ///< the delta supports zeroed-grain entries (version 2)
  std::optional<std::uint64_t> grain_size;  ///< bytes; default 64 KiB
  std::optional<std::uint64_t> seed;
  std::optional<std::uint32_t> cid;  ///< fixed CID for the new delta
  /// The delta's kind; automatic follows the parent's family (see DeltaFormat).
  DeltaFormat delta_format = DeltaFormat::automatic;
};

struct SnapshotReport {
  std::string path;    ///< the new delta
  std::string parent;  ///< the disk it was taken of
  std::uint32_t cid = 0;
  std::uint32_t parent_cid = 0;
  std::string parent_hint;         ///< parentFileNameHint written (relative)
  std::string type;                ///< createType of the delta: "monolithicSparse", "vmfsSparse" or "seSparse"
  std::vector<std::string> files;  ///< every file written, descriptor first
};

/// Creates `<base>-00000N.vmdk` (first free N; base is the parent's name without an -00000N
/// suffix) beside the parent: a monolithicSparse delta, a vmfsSparse one (descriptor plus
/// `<base>-00000N-delta.vmdk`, COWD with 1-sector grains, vmdk-format.md 4.2, 5.1) or a seSparse
/// one (descriptor plus `<base>-00000N-sesparse.vmdk`, 4 KiB grains, 5.2), of the same capacity,
/// parentCID = the parent's CID, parentFileNameHint relative. Refuses a parent that has a child
/// (naming it) unless force, and a parent whose chain does not open. Throws UsageError,
/// ChainError, IoError.
SnapshotReport snapshot(const std::filesystem::path& parent, const SnapshotOptions& options = {});

// ---------------------------------------------------------------------------------------------
// write

/// What to write: bytes from a source, a repeated byte, or zeros.
struct WriteData {
  enum class Kind { bytes, pattern, zero };
  Kind kind = Kind::pattern;
  const ByteSource* source = nullptr;  ///< bytes: read from offset 0 of the source
  std::uint8_t pattern = 0;
  std::uint64_t length = 0;            ///< bytes to write (for bytes: at most the source's size)
};

struct WriteOptions {
  ChainOptions chain;
  bool force = false;  ///< write although a lock (.lck folder) marks the disk in use
  std::optional<std::uint64_t> seed;  ///< for the new CID
  std::optional<std::uint32_t> cid;   ///< the CID to set instead of a generated one (fixtures)
  ProgressCallback progress;
};

struct WriteReport {
  std::string path;  ///< the layer written (the chain's top)
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t grains_written = 0;    ///< grains appended (sparse layers)
  std::uint64_t zeroed_grains = 0;     ///< whole grains turned into zeroed-grain entries
  std::uint64_t copied_bytes = 0;      ///< bytes copied from below for partly written grains
  std::uint32_t old_cid = 0;
  std::uint32_t new_cid = 0;
};

/// Writes into the top layer of path's chain with grain-level copy-on-write. Refuses (before
/// touching anything) a disk that has a child, a streamOptimized or read-only extent, a range past
/// the capacity, and a locked disk unless force. Changes the CID once, after the data is durable.
/// Throws UsageError, UnsupportedError, ChainError, FormatError, IoError.
WriteReport write(const std::filesystem::path& path, std::uint64_t offset, const WriteData& data,
                  const WriteOptions& options = {});

// ---------------------------------------------------------------------------------------------
// children and locks

/// Disks in disk's folder whose parent (by parentFileNameHint, resolved like Chain::open does) is
/// disk. Files that are not VMDK descriptors or sparse disks are skipped silently.
std::vector<std::filesystem::path> find_children(const std::filesystem::path& disk, const OpenOptions& open = {});

/// The lock VMware holds on a disk in use (`<file>.lck` folder), or nullopt.
std::optional<std::filesystem::path> find_lock(const std::filesystem::path& disk);

}  // namespace vmdk
