// Fast zlib-framed (RFC 1950) grain compression with libdeflate for streamOptimized output
// (vmdk-format.md 3.3); level 0 gives stored blocks (header 78 01, 8.1) for bit-exact fixtures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

struct libdeflate_compressor;

namespace vmdk::format {

inline constexpr int kMinFastDeflateLevel = 0;
inline constexpr int kMaxFastDeflateLevel = 9;

/// One libdeflate compressor. Not thread-safe: give each thread its own.
class FastDeflater {
 public:
  /// level 0 (stored blocks) .. 9. Throws UsageError for another level, Error when out of memory.
  explicit FastDeflater(int level);
  ~FastDeflater();
  FastDeflater(const FastDeflater&) = delete;
  FastDeflater& operator=(const FastDeflater&) = delete;

  int level() const { return level_; }
  /// Worst-case size of the zlib stream of in_bytes input bytes.
  std::size_t bound(std::size_t in_bytes) const;
  /// Compresses `in` as one zlib stream into `out` (out.size() >= bound(in.size())); returns the
  /// number of bytes written. Throws UsageError when out is too small.
  std::size_t compress(std::span<const std::uint8_t> in, std::span<std::uint8_t> out);

 private:
  libdeflate_compressor* compressor_ = nullptr;
  int level_ = 0;
};

/// zlib-framed compression of one grain at `level` (allocates a compressor; for tests and one-offs).
std::vector<std::uint8_t> fast_deflate_grain(std::span<const std::uint8_t> in, int level = 6);

}  // namespace vmdk::format
