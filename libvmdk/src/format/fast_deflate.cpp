// libdeflate wrapper for streamOptimized grain compression (vmdk-format.md 3.3, 8.1).
#include "format/fast_deflate.hpp"

#include <libdeflate.h>

#include <string>

#include "vmdk/error.hpp"

namespace vmdk::format {

FastDeflater::FastDeflater(int level) : level_(level) {
  if (level < kMinFastDeflateLevel || level > kMaxFastDeflateLevel) {
    throw UsageError("", "compression level " + std::to_string(level) + " is out of range (0 to 9)");
  }
  compressor_ = libdeflate_alloc_compressor(level);
  if (compressor_ == nullptr) throw Error("", "cannot allocate a deflate compressor (out of memory)");
}

FastDeflater::~FastDeflater() {
  libdeflate_free_compressor(compressor_);
}

std::size_t FastDeflater::bound(std::size_t in_bytes) const {
  return libdeflate_zlib_compress_bound(compressor_, in_bytes);
}

std::size_t FastDeflater::compress(std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  if (out.size() < bound(in.size())) {
    throw UsageError("", "deflate output buffer of " + hex(out.size()) + " bytes is below the bound " +
                             hex(bound(in.size())));
  }
  std::size_t n = libdeflate_zlib_compress(compressor_, in.data(), in.size(), out.data(), out.size());
  // Cannot happen with a buffer of bound() bytes; checked so a library change cannot truncate grains.
  if (n == 0) throw Error("", "deflate compression did not fit its bound");
  return n;
}

std::vector<std::uint8_t> fast_deflate_grain(std::span<const std::uint8_t> in, int level) {
  FastDeflater deflater(level);
  std::vector<std::uint8_t> out(deflater.bound(in.size()));
  out.resize(deflater.compress(in, out));
  return out;
}

}  // namespace vmdk::format
