// Unit tests of the pure byte codecs in libvmdk/src/format: sparse header, markers, tables, zlib.
#include <catch2/catch.hpp>

#include "io/checked_math.hpp"
#include "format/endian.hpp"
#include "format/grain_directory.hpp"
#include "format/marker.hpp"
#include "format/sparse_header.hpp"
#include "format/zlib_codec.hpp"
#include "support/kdmv_builder.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using namespace vmdk::format;

TEST_CASE("sparse header decodes the QEMU 16 MiB golden bytes (8.2)") {
  std::vector<std::uint8_t> bytes = {
      0x4b, 0x44, 0x4d, 0x56, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
      0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x20, 0x0d, 0x0a, 0x00, 0x00};
  bytes.resize(512, 0);
  SparseHeader h = decode_sparse_header(bytes);
  CHECK(h.magic == kSparseMagic);
  CHECK(h.version == 1);
  CHECK(h.flags == 3);
  CHECK(h.capacity == 32768);
  CHECK(h.grain_size == 128);
  CHECK(h.descriptor_offset == 1);
  CHECK(h.descriptor_size == 20);
  CHECK(h.num_gtes_per_gt == 512);
  CHECK(h.rgd_offset == 21);
  CHECK(h.gd_offset == 26);
  CHECK(h.overhead == 128);
  CHECK(h.newline_detector_intact());
  CHECK(h.compress_algorithm == 0);
  auto encoded = encode_sparse_header(h);
  CHECK(std::vector<std::uint8_t>(encoded.begin(), encoded.end()) == bytes);
}

TEST_CASE("sparse header field table is consistent with the codec") {
  SparseHeader h;
  std::uint64_t value = 1;
  for (const auto& field : kSparseHeaderFields) {
    std::uint64_t v = (value++ * 0x0101010101010101ull) & (field.size == 8 ? ~0ull : ((1ull << (8 * field.size)) - 1));
    h.set_field(field.name, v);
  }
  auto bytes = encode_sparse_header(h);
  for (const auto& field : kSparseHeaderFields) {
    CHECK(load_le(bytes, field.offset, field.size) == h.field(field.name));
  }
  CHECK(decode_sparse_header(bytes) == h);
  CHECK(sparse_header_field("gd_offset").offset == 56);
  CHECK(sparse_header_field("compress_algorithm").offset == 77);
  CHECK_THROWS_AS(sparse_header_field("nope"), UsageError);
  // Fields end before the 433-byte pad.
  const auto& last = kSparseHeaderFields.back();
  CHECK(last.offset + last.size == 79);
}

TEST_CASE("markers round-trip") {
  auto g = encode_grain_marker(0x1234, 85);
  Marker m = decode_marker(g);
  CHECK(m.is_grain());
  CHECK(m.value == 0x1234);
  CHECK(m.size == 85);
  auto gt = encode_metadata_marker(4, MarkerType::grain_table);
  Marker t = decode_marker(gt);
  CHECK_FALSE(t.is_grain());
  CHECK(t.value == 4);
  CHECK(t.type == 1);
  auto eos = encode_metadata_marker(0, MarkerType::eos);
  CHECK(std::all_of(eos.begin(), eos.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST_CASE("grain geometry follows 2.4 and 2.7") {
  auto g = grain_geometry(204800, 128, 512);
  CHECK(g.num_gd_entries == 4);
  CHECK(g.gd_sectors == 1);
  CHECK(g.gt_sectors == 4);
  CHECK(g.num_grains == 1600);
  auto odd = grain_geometry(4000, 128, 512);
  CHECK(odd.num_grains == 32);
  CHECK(odd.num_gd_entries == 1);
  auto big = grain_geometry(4194304, 128, 512);
  CHECK(big.num_gd_entries == 64);
  std::vector<std::uint32_t> entries = {1, 0x80, 0xdeadbeef};
  std::vector<std::uint8_t> bytes(12);
  encode_u32_table(entries, bytes);
  CHECK(decode_u32_table(bytes, 3) == entries);
}

TEST_CASE("checked arithmetic") {
  CHECK(checked_add(~0ull, 1) == std::nullopt);
  CHECK(checked_mul(1ull << 40, 1ull << 30) == std::nullopt);
  CHECK(checked_mul(3, 5) == 15u);
  CHECK(div_round_up(129, 128) == 2);
  CHECK(round_up(129, 128) == 256u);
  CHECK(is_power_of_two(128));
  CHECK_FALSE(is_power_of_two(0));
  CHECK_FALSE(is_power_of_two(96));
}

TEST_CASE("inflate: zlib, raw deflate fallback, bounds") {
  auto data = vmdk::test::pattern_bytes(65536, 7);
  for (std::size_t i = 0; i < data.size(); i += 3) data[i] = 0;  // semi-compressible
  std::vector<std::uint8_t> out(65536);

  SECTION("zlib framed") {
    auto z = deflate_grain(data, 6);
    CHECK(is_zlib_header(z));
    auto r = inflate_grain(z, out);
    REQUIRE(r.ok());
    CHECK_FALSE(r.raw_deflate);
    CHECK(r.produced == data.size());
    CHECK(out == data);
  }
  SECTION("raw deflate") {
    auto raw = deflate_grain(data, 6, true);
    auto r = inflate_grain(raw, out);
    REQUIRE(r.ok());
    CHECK(r.raw_deflate);
    CHECK(out == data);
  }
  SECTION("output larger than the grain is refused") {
    auto z = deflate_grain(data, 6);
    std::vector<std::uint8_t> small(65535);
    auto r = inflate_grain(z, small);
    CHECK_FALSE(r.ok());
    CHECK_THAT(r.error, Catch::Contains("larger than the grain"));
  }
  SECTION("shorter output is fine") {
    auto z = deflate_grain(std::span<const std::uint8_t>(data).subspan(0, 1000), 6);
    auto r = inflate_grain(z, out);
    REQUIRE(r.ok());
    CHECK(r.produced == 1000);
  }
  SECTION("truncated and corrupt streams fail") {
    auto z = deflate_grain(data, 6);
    auto r = inflate_grain(std::span<const std::uint8_t>(z).subspan(0, z.size() / 2), out);
    CHECK_FALSE(r.ok());
    z[z.size() / 2] ^= 0xff;
    z[z.size() / 2 + 1] ^= 0x5a;
    auto r2 = inflate_grain(z, out);
    CHECK_FALSE(r2.ok());
    std::vector<std::uint8_t> garbage(100, 0xff);
    CHECK_FALSE(inflate_grain(garbage, out).ok());
    CHECK_FALSE(inflate_grain({}, out).ok());
  }
}
