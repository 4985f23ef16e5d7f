// The one interface every extent kind implements (flat, zero, sparse KDMV, stream, cowd, sesparse).
// An extent answers for its own layer only: a delta that defers to its parent says `unallocated`.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vmdk/io.hpp"

namespace vmdk {

/// What one layer says about a byte range (the meaning of QEMU's block status).
enum class BlockState : std::uint8_t {
  unallocated,  ///< not in this layer: read from the parent, or zeros in a base
  zero,         ///< this layer says zeros (zeroed-grain entry, ZERO extent); hides the parent
  data,         ///< this layer holds bytes for the range
};

inline constexpr std::uint64_t kNoHostOffset = std::numeric_limits<std::uint64_t>::max();

/// A maximal range of one state. Offsets are relative to whoever answered (extent or disk).
struct Run {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  BlockState state = BlockState::unallocated;
  /// For data: byte offset in the host file where the range's bytes start, or kNoHostOffset.
  /// For a compressed grain it is the offset of the grain's marker (compressed is then true).
  /// For zero: kNoHostOffset, except for a hole of a flat extent's host file, where it is the
  /// hole's offset in that file (the file holds the range, as zeros it does not store).
  std::uint64_t host_offset = kNoHostOffset;
  bool compressed = false;
  bool operator==(const Run&) const = default;
};

/// How a header field's value reads best, so that a printer needs no knowledge of formats.
enum class FieldDisplay : std::uint8_t {
  decimal,
  hex,             ///< flags and magics
  version_halves,  ///< major.minor in the high and low 32 bits (SESparse's version)
};

/// What `vmdkit info` shows of an extent: its kind and the header fields in on-disk order.
struct ExtentDetails {
  std::string format;  ///< "flat", "zero", "sparse", "stream", "cowd", "sesparse"
  std::vector<std::pair<std::string, std::uint64_t>> header;  ///< name, value (empty for flat/zero)
  std::vector<FieldDisplay> header_display;  ///< per header entry, same order (decimal when missing)
  std::uint64_t grain_size = 0;       ///< bytes; 0 when not sparse
  std::uint64_t allocated_bytes = 0;  ///< bytes of the host file holding grains or data
};

/// What an opened extent allows, asked instead of comparing its format name. Answers may depend
/// on the file (a hosted sparse file's zeroed-grain flag, a compressed KDMV file).
struct ExtentCapabilities {
  bool reads_as_zero = false;   ///< no host bytes: every byte reads as zeros (ZERO extents)
  bool data_in_place = false;   ///< each byte sits at its own place in host_file(): written there (flat)
  bool grain_updates = false;   ///< its kind's in-place updater writes it, grain by grain (plain grains)
  bool compressed = false;      ///< compressed grains: cannot be rewritten in place (convert first)
  bool zeroed_grains = false;   ///< its grain entries can say "zeros" (sparse flag bit 2, SESparse type 2)
  bool operator==(const ExtentCapabilities&) const = default;
};

class Extent {
 public:
  virtual ~Extent() = default;
  /// Bytes of virtual address space this extent covers (the descriptor line's size, authoritative).
  virtual std::uint64_t size() const = 0;
  /// The state of the longest run starting at offset and not longer than max_len.
  /// Requires offset < size() and max_len > 0. Throws FormatError on damaged metadata.
  virtual Run block_status(std::uint64_t offset, std::uint64_t max_len) const = 0;
  /// Appends to out the runs covering [offset, offset+length), adjacent equal states merged.
  /// The default calls block_status repeatedly; table-based kinds override it to read each table once.
  virtual void map(std::uint64_t offset, std::uint64_t length, std::vector<Run>& out) const;
  /// This layer's bytes for the range: unallocated and zero ranges read as zeros. Neighbouring
  /// grains that are contiguous on disk are read with one call. Throws FormatError / IoError.
  virtual void read(std::uint64_t offset, std::span<std::uint8_t> out) const = 0;
  /// The host file holding the data ("" for ZERO extents).
  virtual const std::string& host_file() const = 0;
  /// The file that a data run's host_offset refers to when the run's bytes can be read there as
  /// they are (flat data, plain grains); nullptr when reads must go through read() (compressed
  /// grains, NOACCESS, ZERO). Lets a chain gather host-contiguous grains into one scatter read.
  virtual const ByteSource* host_source() const { return nullptr; }
  virtual ExtentDetails details() const = 0;
  /// What writers may do with this extent (none of it by default: an unknown kind is read-only).
  virtual ExtentCapabilities capabilities() const { return {}; }
};

}  // namespace vmdk
