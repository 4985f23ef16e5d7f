// libdeflate grain compression (vmdk-format.md 3.3, 8.1): zlib framing at every level, stored
// blocks at level 0 exactly as 8.1 spells them, bad levels, and a hidden throughput benchmark.
#include "format/fast_deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>

#include "format/zlib_codec.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using namespace vmdk::format;

namespace {

// Text-like data that compresses to roughly a third: words from a small vocabulary, LCG-chosen.
std::vector<std::uint8_t> semi_compressible(std::size_t size, std::uint32_t seed) {
  static const char* const kWords[] = {"grain ", "table ",  "sector ", "marker ",
                                       "vmdk ",  "stream ", "0x1f ",   "\n"};
  std::vector<std::uint8_t> out;
  out.reserve(size);
  std::uint32_t state = seed;
  while (out.size() < size) {
    state = state * 1664525u + 1013904223u;
    if ((state >> 28) < 5) {  // some noise keeps it from compressing too well
      out.push_back(static_cast<std::uint8_t>(state >> 16));
      continue;
    }
    for (const char* c = kWords[(state >> 13) & 7]; *c != 0 && out.size() < size; ++c) {
      out.push_back(static_cast<std::uint8_t>(*c));
    }
  }
  return out;
}

// Stored-block zlib stream as vmdk-format.md 8.1 spells it.
std::vector<std::uint8_t> stored_stream(const std::vector<std::uint8_t>& in) {
  std::vector<std::uint8_t> out{0x78, 0x01};
  std::size_t at = 0;
  do {
    std::size_t n = std::min<std::size_t>(65535, in.size() - at);
    bool last = at + n == in.size();
    out.push_back(last ? 1 : 0);
    out.push_back(static_cast<std::uint8_t>(n & 0xff));
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(~n & 0xff));
    out.push_back(static_cast<std::uint8_t>((~n >> 8) & 0xff));
    out.insert(out.end(), in.begin() + static_cast<std::ptrdiff_t>(at),
               in.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  } while (at < in.size());
  uLong adler = adler32(1, in.data(), static_cast<uInt>(in.size()));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(adler >> shift));
  return out;
}

std::vector<std::uint8_t> inflate_all(const std::vector<std::uint8_t>& z, std::size_t size) {
  std::vector<std::uint8_t> out(size);
  InflateResult r = inflate_grain(z, out);
  INFO(r.error);
  REQUIRE(r.ok());
  REQUIRE_FALSE(r.raw_deflate);
  REQUIRE(r.total == size);
  return out;
}

}  // namespace

TEST_CASE("fast deflate round-trips at every level with zlib framing") {
  auto grain = semi_compressible(65536, 7);
  for (int level = 0; level <= 9; ++level) {
    INFO("level " << level);
    auto z = fast_deflate_grain(grain, level);
    REQUIRE(is_zlib_header(z));
    REQUIRE(inflate_all(z, grain.size()) == grain);
    if (level > 0) REQUIRE(z.size() < grain.size() / 2);
  }
  CHECK(fast_deflate_grain(grain, 6)[1] == 0x9c);
  CHECK(fast_deflate_grain(grain, 9)[1] == 0xda);
}

TEST_CASE("fast deflate level 0 gives the stored blocks of 8.1") {
  for (std::size_t size : {std::size_t{4096}, std::size_t{65535}, std::size_t{65536}, std::size_t{1} << 20}) {
    INFO("size " << size);
    auto grain = semi_compressible(size, static_cast<std::uint32_t>(size));
    auto z = fast_deflate_grain(grain, 0);
    auto expected = stored_stream(grain);
    REQUIRE(z.size() == expected.size());
    auto diff = std::mismatch(z.begin(), z.end(), expected.begin()).first - z.begin();
    INFO("first difference at " << diff);
    REQUIRE(z == expected);
    REQUIRE(inflate_all(z, size) == grain);
  }
  std::vector<std::uint8_t> grain(65536, 0xab);
  CHECK(fast_deflate_grain(grain, 0).size() == 65552);  // 129 sectors with its marker (3.2)
}

TEST_CASE("fast deflate handles zeros and tiny inputs") {
  std::vector<std::uint8_t> zeros(65536, 0);
  auto z = fast_deflate_grain(zeros, 6);
  CHECK(z.size() < 200);
  CHECK(inflate_all(z, zeros.size()) == zeros);
  std::vector<std::uint8_t> one{42};
  CHECK(inflate_all(fast_deflate_grain(one, 1), 1) == one);
}

TEST_CASE("fast deflate refuses bad levels and small buffers") {
  CHECK_THROWS_AS(FastDeflater(-1), UsageError);
  CHECK_THROWS_AS(FastDeflater(10), UsageError);
  FastDeflater deflater(6);
  std::vector<std::uint8_t> in(4096, 1), out(16);
  CHECK_THROWS_AS(deflater.compress(in, out), UsageError);
}

TEST_CASE("fast deflate throughput, one thread", "[.bench]") {
  auto data = semi_compressible(64u << 20, 1);
  for (int level : {1, 6}) {
    FastDeflater deflater(level);
    std::vector<std::uint8_t> out(deflater.bound(65536));
    std::size_t compressed = 0;
    auto start = std::chrono::steady_clock::now();
    for (std::size_t at = 0; at < data.size(); at += 65536) {
      compressed += deflater.compress(std::span<const std::uint8_t>(data).subspan(at, 65536), out);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto zstart = std::chrono::steady_clock::now();
    std::size_t zcompressed = 0;
    for (std::size_t at = 0; at < data.size(); at += 65536) {
      zcompressed += deflate_grain(std::span<const std::uint8_t>(data).subspan(at, 65536), level).size();
    }
    double zseconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - zstart).count();
    std::printf("level %d: libdeflate %.0f MB/s ratio %.3f; zlib %.0f MB/s ratio %.3f\n", level,
                static_cast<double>(data.size()) / seconds / 1e6,
                static_cast<double>(compressed) / static_cast<double>(data.size()),
                static_cast<double>(data.size()) / zseconds / 1e6,
                static_cast<double>(zcompressed) / static_cast<double>(data.size()));
  }
}
