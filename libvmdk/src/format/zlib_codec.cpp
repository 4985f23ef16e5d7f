// zlib wrapper for grain data (vmdk-format.md 3.3): bounded inflate with raw-deflate fallback.
#include "format/zlib_codec.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "vmdk/error.hpp"

namespace vmdk::format {

bool is_zlib_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 2) return false;
  const unsigned cmf = bytes[0];
  const unsigned flg = bytes[1];
  return (cmf & 0x0fu) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0 && (flg & 0x20u) == 0;
}

InflateResult inflate_grain(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, std::size_t limit) {
  InflateResult result;
  result.raw_deflate = !is_zlib_header(in);
  if (limit < out.size()) limit = out.size();
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
  std::size_t total = result.produced;
  // Output is full but the stream goes on: inflate the rest into scratch space, counting it, so
  // that a stream longer than the limit is still caught. One byte more than the limit suffices.
  std::uint8_t scratch[16384];
  while (rc != Z_STREAM_END && zs.avail_out == 0 && total <= limit) {
    std::size_t room = std::min<std::size_t>(sizeof scratch, limit - total + 1);
    zs.next_out = scratch;
    zs.avail_out = static_cast<uInt>(room);
    rc = inflate(&zs, Z_FINISH);
    total += room - zs.avail_out;
  }
  const std::string zlib_message = zs.msg != nullptr ? std::string(" (") + zs.msg + ")" : "";
  inflateEnd(&zs);
  result.total = total;
  if (total > limit) {
    result.error = "decompressed data is larger than the grain (" + std::to_string(limit) + " bytes)";
    return result;
  }
  if (rc == Z_STREAM_END) return result;
  if (rc == Z_DATA_ERROR) {
    result.error = "compressed data is corrupt" + zlib_message;
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
  // Shrinks by erasing, never by resize(): GCC 12 at -O1 under the sanitizers cannot prove that
  // size() - avail_out does not wrap and fails the build with a bogus memset bound.
  const std::size_t produced = out.size() - std::min<std::size_t>(zs.avail_out, out.size());
  out.erase(out.begin() + static_cast<std::ptrdiff_t>(produced), out.end());
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw Error("", "zlib deflate did not finish");
  return out;
}

}  // namespace vmdk::format
