// zlib wrapper for grain data (vmdk-format.md 3.3): bounded inflate with raw-deflate fallback.
#include "format/zlib_codec.hpp"

#include <zlib.h>

#include <limits>

#include "vmdk/error.hpp"

namespace vmdk::format {

bool is_zlib_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 2) return false;
  const unsigned cmf = bytes[0];
  const unsigned flg = bytes[1];
  return (cmf & 0x0fu) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0 && (flg & 0x20u) == 0;
}

InflateResult inflate_grain(std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  InflateResult result;
  result.raw_deflate = !is_zlib_header(in);
  if (in.size() > std::numeric_limits<uInt>::max() || out.size() > std::numeric_limits<uInt>::max()) {
    result.error = "grain is too large to inflate";
    return result;
  }
  z_stream zs{};
  if (inflateInit2(&zs, result.raw_deflate ? -MAX_WBITS : MAX_WBITS) != Z_OK) {
    result.error = "cannot initialise zlib";
    return result;
  }
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  result.produced = out.size() - zs.avail_out;
  if (rc != Z_STREAM_END && zs.avail_out == 0) {
    // Output is full: the stream may still end without more output (e.g. only the Adler-32 is
    // left); offer a one-byte scratch buffer and fail if anything lands in it.
    std::uint8_t scratch = 0;
    zs.next_out = &scratch;
    zs.avail_out = 1;
    rc = inflate(&zs, Z_FINISH);
    if (zs.avail_out == 0) {
      inflateEnd(&zs);
      result.error = "decompressed data is larger than the grain (" + std::to_string(out.size()) + " bytes)";
      return result;
    }
  }
  inflateEnd(&zs);
  if (rc == Z_STREAM_END) return result;
  if (rc == Z_DATA_ERROR) {
    result.error = std::string("compressed data is corrupt") + (zs.msg != nullptr ? std::string(" (") + zs.msg + ")" : "");
  } else if (rc == Z_BUF_ERROR) {
    result.error = "compressed data ends before the end of its stream";
  } else if (rc == Z_MEM_ERROR) {
    result.error = "out of memory while inflating";
  } else {
    result.error = "inflate failed with zlib code " + std::to_string(rc);
  }
  return result;
}

std::vector<std::uint8_t> deflate_grain(std::span<const std::uint8_t> in, int level, bool raw) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, raw ? -MAX_WBITS : MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error("", "cannot initialise zlib");
  }
  std::vector<std::uint8_t> out(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(out.size() - zs.avail_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw Error("", "zlib deflate did not finish");
  return out;
}

}  // namespace vmdk::format
