// What a new disk looks like (DESIGN.md "ops"): the createType values vmdkit writes, the delta
// formats of snapshots, adapter types, and the options every verb that makes a disk shares
// (create, convert, snapshot, fixtures).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

/// Whether a new file (convert, create, fixture build, repair --salvage) is made durable: synced
/// fsyncs every file before it is renamed into place and the folder after the renames (--sync);
/// page_cache leaves the bytes to the kernel's writeback, as cp and qemu-img do (DESIGN.md
/// "Durability"). Either way a new file appears by rename, whole or not at all. Changes in place
/// (write, snapshot, consolidate, repair) always keep their ordered fsyncs and take no such choice.
enum class Durability { page_cache, synced };

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
  Durability durability = Durability::page_cache;  ///< fsync before the rename (--sync) or not
};

}  // namespace vmdk
