// vmdkit write (DESIGN.md "ops"): bytes written into the top layer of a chain with grain-level
// copy-on-write, in the crash-safe order: grain data, fsync, grain tables (both copies), fsync,
// descriptor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "vmdk/chain.hpp"
#include "vmdk/io.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

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

}  // namespace vmdk
