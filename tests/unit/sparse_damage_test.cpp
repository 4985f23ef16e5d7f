// Damaged KDMV and stream extents: every bad header field, directory entry, table entry, grain
// record and footer is a FormatError (or UnsupportedError) with the right offset (vmdk-format.md 7.1).
#include <catch2/catch.hpp>

#include <random>

#include "extent/sparse/open_sparse.hpp"
#include "format/marker.hpp"
#include "format/sparse_header.hpp"
#include "support/kdmv_builder.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using vmdk::test::KdmvBuilder;
using vmdk::test::KdmvImage;
using vmdk::test::KdmvKind;
using vmdk::test::pattern_bytes;

namespace {

constexpr std::uint64_t kGrain = 65536;

std::uint64_t field_at(std::string_view name) { return format::sparse_header_field(name).offset; }

KdmvImage plain(std::uint64_t capacity = 20480) {
  return KdmvBuilder(capacity).descriptor("version=1\n", 20).fill_grain(0, 1).fill_grain(3, 3).fill_grain(9, 9).build();
}

KdmvImage stream(KdmvKind kind = KdmvKind::stream_footer, std::uint64_t capacity = 20480) {
  return KdmvBuilder(capacity, kind).descriptor("version=1\n", 1).grain(0, pattern_bytes(kGrain, 0)).fill_grain(7, 7).build();
}

// Opens and reads everything; returns the error thrown.
template <typename E>
E open_and_read_error(const KdmvImage& image, std::uint64_t size = 20480 * 512) {
  try {
    auto extent = sparse::open_sparse_extent(image.file(), size);
    std::vector<std::uint8_t> out(extent->size());
    extent->read(0, out);
  } catch (const E& e) {
    return e;
  }
  FAIL("expected an error");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("header fields are validated (7.1)") {
  SECTION("magic") {
    auto image = plain();
    image.poke_header("magic", 0x12345678);
    auto e = open_and_read_error<FormatError>(image);
    CHECK(e.offset() == 0u);
    CHECK_THAT(e.what(), Catch::StartsWith("disk.vmdk: sparse header has no KDMV magic"));
    image.poke_header("magic", format::kSparseMagic ^ 0x20202020u);
    CHECK_THAT(open_and_read_error<FormatError>(image).what(), Catch::Contains("open-vmdk"));
  }
  SECTION("version") {
    for (std::uint64_t v : {0u, 4u, 0xffffffffu}) {
      auto image = plain();
      image.poke_header("version", v);
      auto e = open_and_read_error<UnsupportedError>(image);
      CHECK(e.offset() == field_at("version"));
    }
  }
  SECTION("incompatible flags") {
    auto image = plain();
    image.poke_header("flags", 0x40003);
    CHECK(open_and_read_error<UnsupportedError>(image).offset() == field_at("flags"));
    image.poke_header("flags", 0x20003);
    auto e = open_and_read_error<FormatError>(image);
    CHECK(e.offset() == field_at("flags"));
    CHECK_THAT(e.what(), Catch::Contains("without the compression flag"));
  }
  SECTION("newline detector") {
    auto image = plain();
    image.poke_header("double_end_line_char1", '\n');
    auto e = open_and_read_error<FormatError>(image);
    CHECK_THAT(e.what(), Catch::Contains("corrupted by a text-mode transfer"));
    CHECK(e.offset() == field_at("single_end_line_char"));
    image.poke_header("flags", 2);  // bit 0 clear: bytes not checked
    CHECK_NOTHROW(sparse::open_sparse_extent(image.file(), 20480 * 512));
  }
  SECTION("grain size") {
    for (std::uint64_t g : {0ull, 3ull, 96ull, 0x400000ull, 1ull << 40}) {
      auto image = plain();
      image.poke_header("grain_size", g);
      CHECK(open_and_read_error<FormatError>(image).offset() == field_at("grain_size"));
    }
  }
  SECTION("grain table size") {
    for (std::uint64_t n : {0u, 64u, 100u, 1024u, 4096u}) {
      auto image = plain();
      image.poke_header("num_gtes_per_gt", n);
      CHECK(open_and_read_error<FormatError>(image).offset() == field_at("num_gtes_per_gt"));
    }
  }
  SECTION("capacity") {
    auto image = plain();
    image.poke_header("capacity", ~0ull);
    CHECK(open_and_read_error<FormatError>(image).offset() == field_at("capacity"));
    image.poke_header("capacity", 1ull << 50);  // 2^50 sectors with 64 KiB grains: too many tables
    CHECK(open_and_read_error<FormatError>(image).offset() == field_at("capacity"));
  }
  SECTION("descriptor area") {
    auto image = plain();
    image.poke_header("descriptor_size", 20481);
    CHECK(open_and_read_error<FormatError>(image).offset() == field_at("descriptor_size"));
    image.poke_header("descriptor_size", 0);
    CHECK(open_and_read_error<FormatError>(image).offset() == field_at("descriptor_size"));
    image.poke_header("descriptor_size", 20);
    image.poke_header("descriptor_offset", 0xffffff);
    CHECK(open_and_read_error<FormatError>(image).offset() == field_at("descriptor_offset"));
  }
  SECTION("overhead") {
    auto image = plain();
    image.poke_header("overhead", 0);
    CHECK(open_and_read_error<FormatError>(image).offset() == field_at("overhead"));
    image.poke_header("overhead", 5);  // inside the descriptor
    CHECK(open_and_read_error<FormatError>(image).offset() == field_at("overhead"));
  }
  SECTION("grain directory location") {
    auto image = plain();
    image.poke_header("gd_offset", image.bytes.size() / 512);
    auto e = open_and_read_error<FormatError>(image);
    CHECK(e.offset() == field_at("gd_offset"));
    CHECK_THAT(e.what(), Catch::Contains("past end of file"));
    image.poke_header("gd_offset", 0);
    CHECK(open_and_read_error<FormatError>(image).offset() == field_at("gd_offset"));
    image.poke_header("gd_offset", 3);  // inside the descriptor
    CHECK(open_and_read_error<FormatError>(image).offset() == field_at("gd_offset"));
    image.poke_header("gd_offset", format::kGdAtEnd);  // not a stream
    CHECK(open_and_read_error<FormatError>(image).offset() == field_at("gd_offset"));
  }
  SECTION("compression algorithm") {
    auto image = stream();
    image.poke_header("compress_algorithm", 2);
    image.poke_header("compress_algorithm", 2, true);
    CHECK(open_and_read_error<UnsupportedError>(image).offset() == field_at("compress_algorithm"));
  }
  SECTION("file shorter than a header") {
    auto image = plain();
    image.bytes.resize(100);
    CHECK_THROWS_AS(sparse::open_sparse_extent(image.file(), 20480 * 512), FormatError);
  }
}

TEST_CASE("directory and table entries are checked with their offsets") {
  SECTION("directory entry past the end of the file") {
    auto image = plain();
    image.poke(image.gde_offset(0), 4, 0x100000);
    auto e = open_and_read_error<FormatError>(image);
    CHECK(e.offset() == image.gde_offset(0));
    CHECK_THAT(e.what(), Catch::StartsWith("disk.vmdk: grain directory entry 0 points past end of file (0x"));
  }
  SECTION("directory entry into the header") {
    auto image = plain();
    image.poke(image.gde_offset(0), 4, 1);
    CHECK(open_and_read_error<FormatError>(image).offset() == image.gde_offset(0));
  }
  SECTION("table entry past the end of the file") {
    auto image = plain();
    image.poke(image.gte_offset(3), 4, 0x1000);
    auto e = open_and_read_error<FormatError>(image);
    CHECK(e.offset() == image.gte_offset(3));
    std::string want = "disk.vmdk: grain table 0 entry 3 points past end of file (" + hex(0x1000ull * 512 + kGrain) +
                       " > " + hex(image.bytes.size()) + ")";
    CHECK(std::string(e.what()) == want);
  }
  SECTION("table entry into the metadata") {
    auto image = plain();
    image.poke(image.gte_offset(9), 4, 21);
    auto e = open_and_read_error<FormatError>(image);
    CHECK(e.offset() == image.gte_offset(9));
    CHECK_THAT(e.what(), Catch::Contains("grain table 0 entry 9 points into the metadata"));
  }
  SECTION("truncated last grain") {
    auto image = plain();
    image.bytes.resize(image.bytes.size() - 512);
    auto e = open_and_read_error<FormatError>(image);
    CHECK(e.offset() == image.gte_offset(9));
    CHECK_THAT(e.what(), Catch::Contains("grain table 0 entry 9 points past end of file"));
  }
  SECTION("entries past the capacity are ignored (pitfall 22)") {
    auto image = plain();
    // Entry 200 lies past a 100-grain capacity.
    image.poke_header("capacity", 100 * 128);
    image.poke(image.gte_offset(200), 4, 0xfffffff);
    auto extent = sparse::open_sparse_extent(image.file(), 100 * kGrain);
    std::vector<std::uint8_t> out(extent->size());
    CHECK_NOTHROW(extent->read(0, out));
  }
}

TEST_CASE("entries of tables wholly inside the disk are checked the same (the block-wise fast path)") {
  // 131072 sectors: two full 512-entry tables, which go through GrainTables' branch-free check
  // first; a bad entry must still be named with its offset, whichever bound it breaks.
  constexpr std::uint64_t kCapacity = 131072;
  auto bad_entry = [&](std::uint64_t entry, std::uint32_t value) {
    auto image = plain(kCapacity);
    image.poke(image.gte_offset(entry), 4, value);
    auto e = open_and_read_error<FormatError>(image, kCapacity * 512);
    CHECK(e.offset() == image.gte_offset(entry));
    return std::string(e.what());
  };
  CHECK_THAT(bad_entry(3, 0x1000), Catch::Contains("grain table 0 entry 3 points past end of file"));
  CHECK_THAT(bad_entry(9, 21), Catch::Contains("grain table 0 entry 9 points into the metadata"));
  CHECK_THAT(bad_entry(500, 0xffffffff), Catch::Contains("grain table 0 entry 500 points past end of file"));
  CHECK_THAT(bad_entry(511, 2), Catch::Contains("grain table 0 entry 511 points into the metadata"));
  // Zeroed-grain (1) and unallocated (0) entries are good anywhere.
  auto image = plain(kCapacity);
  image.poke(image.gte_offset(100), 4, 1);
  auto extent = sparse::open_sparse_extent(image.file(), kCapacity * 512);
  std::vector<std::uint8_t> out(extent->size());
  CHECK_NOTHROW(extent->read(0, out));
}

TEST_CASE("stream footer damage") {
  auto image = stream();
  const std::uint64_t size = image.bytes.size();
  SECTION("footer marker type") {
    image.poke(size - 1536 + 12, 4, 2);
    auto e = open_and_read_error<FormatError>(image);
    CHECK(e.offset() == size - 1536);
    CHECK_THAT(e.what(), Catch::Contains("footer marker"));
  }
  SECTION("end-of-stream marker") {
    image.poke(size - 512, 8, 1);
    CHECK(open_and_read_error<FormatError>(image).offset() == size - 512);
  }
  SECTION("footer magic") {
    image.poke_header("magic", 0, true);
    CHECK(open_and_read_error<FormatError>(image).offset() == image.footer_offset);
  }
  SECTION("footer without a directory offset") {
    image.poke_header("gd_offset", format::kGdAtEnd, true);
    CHECK(open_and_read_error<FormatError>(image).offset() == image.footer_offset + field_at("gd_offset"));
  }
  SECTION("footer directory past the end") {
    image.poke_header("gd_offset", size / 512 + 10, true);
    CHECK(open_and_read_error<FormatError>(image).offset() == image.footer_offset + field_at("gd_offset"));
  }
  SECTION("a sector appended after EOS") {
    image.bytes.resize(size + 512);
    CHECK_THROWS_AS(sparse::open_sparse_extent(image.file(), 20480 * 512), FormatError);
  }
  SECTION("file too short for a footer") {
    image.bytes.resize(1024);
    CHECK_THROWS_AS(sparse::open_sparse_extent(image.file(), 20480 * 512), FormatError);
  }
}

TEST_CASE("compressed grain record damage") {
  for (auto kind : {KdmvKind::stream_footer, KdmvKind::stream_front, KdmvKind::stream_qemu}) {
    auto image = stream(kind);
    const std::uint64_t marker = image.grain_sectors.at(7) * 512;
    SECTION("marker lba differs from the grain") {
      image.poke(marker, 8, 0);
      auto e = open_and_read_error<FormatError>(image);
      CHECK(e.offset() == marker);
      CHECK_THAT(e.what(), Catch::Contains("has lba 0x0 but grain table 0 entry 7 expects 0x380"));
    }
    SECTION("compressed size too large") {
      image.poke(marker + 8, 4, 3 * kGrain);
      CHECK(open_and_read_error<FormatError>(image).offset() == marker);
    }
    SECTION("compressed size past end of file") {
      image.poke(marker + 8, 4, 2 * kGrain);
      image.bytes.resize(marker + 4096);
      CHECK(open_and_read_error<FormatError>(image).offset().has_value());
    }
    SECTION("a metadata marker where a grain should be") {
      image.poke(marker + 8, 4, 0);
      CHECK(open_and_read_error<FormatError>(image).offset() == marker);
    }
    SECTION("corrupt deflate data") {
      for (std::uint64_t i = 12; i < 40; ++i) image.bytes[marker + i] ^= 0xa5;
      auto e = open_and_read_error<FormatError>(image);
      CHECK(e.offset() == marker);
      CHECK_THAT(e.what(), Catch::Contains("compressed grain at"));
    }
  }
  SECTION("decompressed data larger than a grain") {
    auto big = KdmvBuilder(20480, KdmvKind::stream_footer).compress_as_given(true)
                   .grain(2, std::vector<std::uint8_t>(kGrain + 512, 7)).build();
    auto e = open_and_read_error<FormatError>(big);
    CHECK_THAT(e.what(), Catch::Contains("larger than the grain"));
  }
  SECTION("no-marker length 0") {
    auto image = stream(KdmvKind::compressed_no_markers);
    image.poke(image.grain_sectors.at(7) * 512, 4, 0);
    CHECK(open_and_read_error<FormatError>(image).offset() == image.grain_sectors.at(7) * 512);
  }
}

TEST_CASE("seeded byte flips and truncations only raise vmdk errors") {
  // Small (640 KiB) images keep this fast under the sanitizers.
  const std::uint64_t capacity = 1280;
  std::vector<KdmvImage> images = {plain(capacity), stream(KdmvKind::stream_footer, capacity),
                                   stream(KdmvKind::stream_front, capacity), stream(KdmvKind::stream_qemu, capacity),
                                   stream(KdmvKind::compressed_no_markers, capacity)};
  std::mt19937 rng(1234);
  int errors = 0;
  for (const auto& original : images) {
    for (int round = 0; round < 120; ++round) {
      KdmvImage image = original;
      // Damage the metadata areas (first 64 KiB, last 4 KiB) where flips matter most.
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        std::size_t at = rng() % 2 == 0 ? rng() % std::min<std::size_t>(image.bytes.size(), 65536)
                                        : image.bytes.size() - 1 - rng() % 4096;
        image.bytes[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      }
      if (round % 10 == 0) image.bytes.resize(rng() % image.bytes.size());
      try {
        auto extent = sparse::open_sparse_extent(image.file(), capacity * 512);
        std::vector<std::uint8_t> out(extent->size());
        extent->read(0, out);
        std::vector<Run> runs;
        extent->map(0, extent->size(), runs);
        (void)extent->details();
      } catch (const Error&) {
        ++errors;
      }
    }
  }
  CHECK(errors > 0);
}
