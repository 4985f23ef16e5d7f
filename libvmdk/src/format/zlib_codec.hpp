// Grain (de)compression for compressed sparse and streamOptimized extents (vmdk-format.md 3.3):
// inflate with a hard output bound, zlib framing first and raw deflate as a fallback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vmdk::format {

struct InflateResult {
  std::size_t produced = 0;  ///< bytes written to the output
  std::size_t total = 0;     ///< bytes the stream decompressed to (>= produced; counted up to limit + 1)
  bool raw_deflate = false;  ///< the input had no valid zlib header and was inflated as raw deflate
  std::string error;         ///< empty on success; else a lower-case reason ("data is corrupt", ...)
  bool ok() const { return error.empty(); }
};

/// True when the two bytes form a valid RFC 1950 header (deflate method, window <= 32 KiB, check bits).
bool is_zlib_header(std::span<const std::uint8_t> bytes);

/// Inflates `in` into `out`. Output past out.size() is inflated and discarded up to `limit` bytes in
/// total (0 = out.size()): a caller that needs only the start of a grain still has the whole
/// grain checked. Fails (error set) when the stream is damaged, ends early, or would produce more
/// than the limit. Never allocates more than zlib's fixed state and a 16 KiB scratch buffer.
/// produced counts the bytes stored in out.
InflateResult inflate_grain(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, std::size_t limit = 0);

/// zlib-framed (RFC 1950) compression at `level`; raw = true gives an RFC 1951 stream (tests only).
std::vector<std::uint8_t> deflate_grain(std::span<const std::uint8_t> in, int level = 6, bool raw = false);

}  // namespace vmdk::format
