// Operations behind the command line (DESIGN.md "ops" layer): free functions, each with an Options
// struct and a Report struct of standard types that the CLI prints as text or JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vmdk/chain.hpp"
#include "vmdk/disk.hpp"
#include "vmdk/io.hpp"

namespace vmdk {

/// Called now and then during long work with the bytes done and the total (virtual disk bytes).
using ProgressCallback = std::function<void(std::uint64_t done, std::uint64_t total)>;
/// Called with a warning (a CID mismatch read anyway, a parent found by its last path component...).
using WarningCallback = std::function<void(const std::string& message)>;

/// Default I/O size of cat, convert and compare: large enough that reads coalesce, small enough
/// that the buffer stays in cache (16 and 32 MiB measured slower on the bench chains).
inline constexpr std::size_t kDefaultChunkSize = 4u << 20;

// ---------------------------------------------------------------------------------------------
// info: one disk, parents not followed.

struct InfoOptions {
  OpenOptions open;  ///< allow_missing_extents and allow_damaged_extents are always set by info()
};

struct InfoExtent {
  std::string access;                  ///< "RW", "RDONLY", "NOACCESS"
  std::string type;                    ///< "SPARSE", "FLAT", "ZERO", ...
  std::uint64_t size = 0;              ///< bytes of virtual address space
  std::uint64_t start = 0;             ///< first virtual byte in the disk
  std::string file;                    ///< as written in the descriptor ("" for ZERO)
  std::string path;                    ///< resolved host path ("" for ZERO)
  std::optional<std::uint64_t> offset; ///< bytes into the file (FLAT lines), when given
  std::string status;                  ///< "ok", "missing", "unsupported", "short", "error"
  std::string problem;                 ///< why status is not ok ("" when ok)
  /// Present when the extent opened: its format, header fields, grain size, allocated bytes.
  std::optional<ExtentDetails> details;
};

struct InfoReport {
  std::string path;
  std::string create_type;
  std::uint64_t capacity = 0;
  std::optional<std::uint32_t> cid;
  std::uint32_t parent_cid = kNoParentCid;
  std::optional<std::string> parent_hint;
  std::uint32_t descriptor_version = 1;
  bool embedded_descriptor = false;
  bool complete = false;         ///< every extent opened
  std::uint64_t allocated = 0;   ///< bytes of host files holding data (opened extents only)
  std::vector<InfoExtent> extents;
  std::vector<std::pair<std::string, std::string>> header;  ///< every header key, file order
  std::vector<std::pair<std::string, std::string>> ddb;     ///< every ddb key, file order
  std::vector<std::string> warnings;  ///< what opening assumed (a bare extent), a VMware .lck folder beside it
};

/// Opens path with allow_missing_extents and allow_damaged_extents and describes it: an extent that
/// is missing, refused or damaged is listed with its status and problem. Throws vmdk::Error when
/// the descriptor itself cannot be read.
InfoReport info(const std::filesystem::path& path, const InfoOptions& options = {});

// ---------------------------------------------------------------------------------------------
// chain: the layers from a leaf down to its base, with the state of every link.

struct ChainReportOptions {
  OpenOptions open;
};

struct ChainLayerReport {
  std::string path;
  std::string create_type;
  std::uint64_t capacity = 0;
  std::optional<std::uint32_t> cid;
  std::uint32_t parent_cid = kNoParentCid;
  std::uint64_t allocated = 0;
  std::string link;  ///< to_string(LinkState): "ok", "base", "cid_mismatch", ...
  std::optional<std::string> parent_hint;
  std::string parent_path;         ///< resolved parent ("" for a base or a missing parent)
  std::vector<std::string> tried;  ///< paths tried for the parent
  std::string problem;             ///< a sentence about a broken link ("" for ok and base)
};

struct ChainReport {
  bool ok = false;
  std::vector<ChainLayerReport> layers;  ///< [0] is the leaf
  std::vector<std::string> warnings;
};

/// Opens the chain with report_broken so that a broken link is reported, not thrown.
/// Throws vmdk::Error when the leaf itself cannot be opened.
ChainReport chain_report(const std::filesystem::path& leaf, const ChainReportOptions& options = {});

// ---------------------------------------------------------------------------------------------
// map: allocation through the chain, plus a compact strip per layer.

struct MapOptions {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;  ///< to the end of the disk when absent
  std::size_t strip_width = 64;         ///< columns of each layer's strip (0: no strips)
};

struct MapReport {
  std::uint64_t capacity = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::vector<std::string> layers;  ///< layer paths, [0] = the leaf
  std::vector<ChainRun> ranges;
  /// One string per layer, strip_width characters, each a 1/strip_width slice of the disk:
  /// '#' the layer holds data for all of it, '0' zeros, '.' nothing, '+' a mix.
  std::vector<std::string> strips;
};

/// Throws UsageError for a range outside the disk.
MapReport map(const Chain& chain, const MapOptions& options = {});

// ---------------------------------------------------------------------------------------------
// cat: the disk's bytes through the chain to a sink.

struct CatOptions {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;  ///< to the end of the disk when absent
  std::size_t chunk_size = kDefaultChunkSize;
  /// Threads reading chunks ahead of the one being written; 0: one per core (at most 4); 1: none.
  unsigned read_threads = 0;
  ProgressCallback progress;
};

struct CatReport {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  ///< bytes written
};

/// Writes [offset, offset+length) of the chain to out at out-offsets 0..length.
/// Throws UsageError for a range outside the disk (before writing anything).
CatReport cat(const Chain& chain, ByteSink& out, const CatOptions& options = {});

/// Checks [offset, offset+length) against capacity and returns the length to use.
/// Throws UsageError naming the offending value and the capacity.
std::uint64_t checked_range(std::uint64_t capacity, std::uint64_t offset,
                            std::optional<std::uint64_t> length);

// ---------------------------------------------------------------------------------------------
// compare: the contents of two disks, each a VMDK chain or a raw file.

struct CompareOptions {
  ChainOptions chain;  ///< how VMDK sides are opened
  std::size_t chunk_size = kDefaultChunkSize;
  /// Threads reading both sides ahead of the comparison; 0: one per core (at most 4); 1: none.
  unsigned read_threads = 0;
  ProgressCallback progress;
  WarningCallback warning;  ///< chain warnings of either side
};

struct CompareSide {
  std::string path;
  std::string kind;  ///< "vmdk" or "raw"
  std::uint64_t size = 0;
};

struct CompareReport {
  bool identical = false;
  CompareSide a;
  CompareSide b;
  std::optional<std::uint64_t> first_difference;  ///< byte offset, when contents differ
  std::string message;  ///< "identical", "contents differ at ...", "sizes differ: ..."
};

/// Compares the two disks byte by byte (ranges that both sides map as zeros are not read).
/// Throws vmdk::Error when either side cannot be opened or read.
CompareReport compare(const std::filesystem::path& a, const std::filesystem::path& b,
                      const CompareOptions& options = {});

}  // namespace vmdk
