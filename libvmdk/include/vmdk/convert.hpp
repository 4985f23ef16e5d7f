// convert (DESIGN.md "ops"): a chain or a raw file exported to raw or to any VMDK type, through
// temporary files renamed into place when complete, or streamed to a sequential sink.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmdk/chain.hpp"
#include "vmdk/disk_type.hpp"
#include "vmdk/io.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

/// What convert reads: a chain through its merged map, or a raw file (holes found with SEEK_DATA).
class ConvertSource {
 public:
  virtual ~ConvertSource() = default;
  virtual std::uint64_t capacity() const = 0;
  /// Ranges of [offset, offset+length): data, zero or unallocated (reads as zeros).
  virtual std::vector<ChainRun> map(std::uint64_t offset, std::uint64_t length) const = 0;
  virtual void read(std::uint64_t offset, std::span<std::uint8_t> out) const = 0;
  /// Files the source reads (convert refuses to overwrite them).
  virtual std::vector<std::filesystem::path> files() const = 0;
};

/// A source over an open chain (which must outlive it).
std::unique_ptr<ConvertSource> chain_source(const Chain& chain);
/// A source over a raw file; its size must be a multiple of 512. Throws IoError, UsageError.
std::unique_ptr<ConvertSource> raw_source(const std::filesystem::path& path);
/// A source over an open raw file (standard input spooled by File::spool). Throws UsageError.
std::unique_ptr<ConvertSource> raw_source(std::unique_ptr<File> file);

struct ConvertOptions : NewDiskOptions {
  std::size_t chunk_size = kDefaultChunkSize;
  /// Threads reading the source ahead of the writer; 0: one per core (at most 4); 1: none.
  unsigned read_threads = 0;
  ProgressCallback progress;
  /// Replace existing files of DST (never a disk with children, another disk's file or a file of
  /// the source). Without it an existing file is a UsageError.
  bool overwrite = false;
  ConvertOptions() { type = DiskType::raw; }
};

struct ConvertReport {
  std::string output;               ///< destination ("-" for standard output)
  std::string format;               ///< to_string(type)
  std::optional<std::string> create_type;  ///< the createType written; none for raw output
  std::uint64_t capacity = 0;
  std::uint64_t data_bytes = 0;     ///< virtual bytes stored as data
  std::uint64_t skipped_zero_bytes = 0;  ///< data that was all zeros, stored as holes / not stored
  std::uint64_t output_bytes = 0;   ///< bytes of the files written
  std::vector<std::string> files;   ///< files written, descriptor first
};

/// Writes source to destination as options.type. Every file goes to a temporary name in the same
/// folder, is fsynced when options.durability is synced (--sync), and is renamed when complete (extents first, the descriptor last); the
/// temporaries are removed on error. Refuses a destination that exists as one of the source's files
/// or (for multi-file types) whose extent files exist. Throws UsageError, IoError, vmdk::Error.
ConvertReport convert(const ConvertSource& source, const std::filesystem::path& destination,
                      const ConvertOptions& options = {});

/// Writes source to a sequential sink (standard output): raw or streamOptimized only
/// (UsageError otherwise). The sink is flushed at the end only when options.durability is synced.
ConvertReport convert_to_sink(const ConvertSource& source, ByteSink& sink, const ConvertOptions& options = {});

}  // namespace vmdk
