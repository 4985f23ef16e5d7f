// Damaged COWD and SESparse extents: every bad header field, region, directory entry and table
// entry is a FormatError (UnsupportedError for valid unknown values) naming its offset (7.1).
#include <catch2/catch.hpp>
#include <random>

#include "extent/cowd/cowd_extent.hpp"
#include "extent/cowd/cowd_scan.hpp"
#include "extent/sesparse/sesparse_extent.hpp"
#include "extent/sesparse/sesparse_scan.hpp"
#include "support/esxi_builder.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using vmdk::test::CowdBuilder;
using vmdk::test::EsxiImage;
using vmdk::test::SesparseBuilder;

namespace {

constexpr std::uint32_t kCowdSectors = 3 * 4096;  // three tables
constexpr std::uint64_t kSeSectors = 2 * 32768;   // two tables

EsxiImage cowd_image() {
  return CowdBuilder(kCowdSectors)
      .fill_grain(3, 3)
      .fill_grain(4100, 4)
      .zero_grain(5)
      .fill_grain(9000, 9)
      .build();
}

EsxiImage sesparse_image() {
  return SesparseBuilder(kSeSectors)
      .fill_grain(3, 3)
      .fill_grain(4100, 4)
      .zero_grain(5)
      .unmapped_grain(6)
      .build();
}

// Opens the image as the extent of a descriptor line of `sectors` and reads it all; returns the
// error thrown (the test fails when there is none or another type).
template <typename E>
E error_of(const EsxiImage& image, bool cowd, std::uint64_t sectors = 0) {
  try {
    if (sectors == 0) sectors = cowd ? kCowdSectors : kSeSectors;
    auto extent = cowd ? cowd::open_cowd_extent(image.file("d-delta.vmdk"), sectors * 512)
                       : sesparse::open_sesparse_extent(image.file("d-sesparse.vmdk"), sectors * 512);
    std::vector<std::uint8_t> out(static_cast<std::size_t>(extent->size()));
    extent->read(0, out);
  } catch (const E& e) {
    return e;
  }
  FAIL("expected an error");
  throw std::logic_error("unreachable");
}

std::uint64_t cowd_field(std::string_view name) {
  return format::cowd_header_field(name).offset;
}
std::uint64_t se_field(std::string_view name) {
  return format::sesparse_header_field(name).offset;
}

}  // namespace

TEST_CASE("damaged COWD headers, directories and tables", "[esxi][cowd][damage]") {
  EsxiImage image = cowd_image();
  const std::uint64_t file_size = image.bytes.size();
  SECTION("magic") {
    vmdk::test::poke_cowd_header(image, "magic", 0x44574F44);
    auto e = error_of<FormatError>(image, true);
    CHECK(e.offset() == 0u);
    CHECK_THAT(e.what(), Catch::StartsWith("d-delta.vmdk: COWD header has no COWD magic"));
  }
  SECTION("version") {
    vmdk::test::poke_cowd_header(image, "version", 2);
    CHECK(error_of<UnsupportedError>(image, true).offset() == cowd_field("version"));
  }
  SECTION("grain size") {
    for (std::uint64_t g : {0u, 3u, 4096u}) {
      vmdk::test::poke_cowd_header(image, "grain_size", g);
      auto e = error_of<FormatError>(image, true);
      CHECK(e.offset() == cowd_field("grain_size"));
      CHECK_THAT(e.what(), Catch::Contains("not a power of two"));
    }
  }
  SECTION("capacity below the descriptor line") {
    vmdk::test::poke_cowd_header(image, "num_sectors", kCowdSectors - 1);
    CHECK(error_of<FormatError>(image, true).offset() == cowd_field("num_sectors"));
  }
  SECTION("directory smaller than the capacity needs") {
    vmdk::test::poke_cowd_header(image, "num_gd_entries", 2);
    CHECK(error_of<FormatError>(image, true).offset() == cowd_field("num_gd_entries"));
  }
  SECTION("directory inside the header or past end of file") {
    vmdk::test::poke_cowd_header(image, "gd_offset", 3);
    CHECK(error_of<FormatError>(image, true).offset() == cowd_field("gd_offset"));
    vmdk::test::poke_cowd_header(image, "gd_offset", file_size / 512);
    auto e = error_of<FormatError>(image, true);
    CHECK(e.offset() == cowd_field("gd_offset"));
    CHECK_THAT(e.what(), Catch::Contains("past end of file"));
  }
  SECTION("header cut short") {
    image.bytes.resize(1000);
    CHECK_THAT(error_of<FormatError>(image, true).what(), Catch::Contains("cut short"));
  }
  SECTION("directory entry into the metadata") {
    image.poke(image.gde_offset(0), 4, 4);
    auto e = error_of<FormatError>(image, true);
    CHECK(e.offset() == image.gde_offset(0));
    CHECK_THAT(e.what(), Catch::Contains("grain directory entry 0 points into the metadata"));
  }
  SECTION("directory entry past end of file") {
    image.poke(image.gde_offset(1), 4, file_size / 512 - 8);
    auto e = error_of<FormatError>(image, true);
    CHECK(e.offset() == image.gde_offset(1));
    CHECK(e.message() == "grain directory entry 1 points past end of file (" + hex(file_size + 24 * 512) +
                             " > " + hex(file_size) + ")");
  }
  SECTION("directory entries with overlapping tables") {
    image.poke(image.gde_offset(2), 4, image.peek(image.gde_offset(0), 4) + 31);
    auto e = error_of<FormatError>(image, true);
    CHECK(e.offset() == image.gde_offset(2));
    CHECK_THAT(e.what(), Catch::Contains("entries 0 and 2 point to overlapping grain tables"));
  }
  SECTION("table entry into the metadata") {
    image.poke(image.gte_offset(3), 4, 2);
    auto e = error_of<FormatError>(image, true);
    CHECK(e.offset() == image.gte_offset(3));
    CHECK_THAT(e.what(), Catch::Contains("grain table 0 entry 3 points into the metadata"));
  }
  SECTION("table entry past end of file") {
    image.poke(image.gte_offset(4100), 4, file_size / 512);
    auto e = error_of<FormatError>(image, true);
    CHECK(e.offset() == image.gte_offset(4100));
    CHECK(std::string(e.what()) == "d-delta.vmdk: grain table 1 entry 4 points past end of file (" +
                                       hex(file_size + 512) + " > " + hex(file_size) + ")");
  }
  SECTION("table entry inside a grain table") {
    image.poke(image.gte_offset(3), 4, image.gt_byte_offsets[2] / 512 + 5);
    auto e = error_of<FormatError>(image, true);
    CHECK(e.offset() == image.gte_offset(3));
    CHECK_THAT(e.what(), Catch::Contains("grain table 0 entry 3 points into grain table 2"));
  }
  SECTION("a damaged table fails the reads of its range only") {
    image.poke(image.gte_offset(9000), 4, file_size / 512 + 100);
    auto extent = cowd::open_cowd_extent(image.file("d-delta.vmdk"), kCowdSectors * 512ull);
    std::vector<std::uint8_t> out(4096 * 512);
    CHECK_NOTHROW(extent->read(0, out));
    CHECK_THROWS_AS(extent->read(8192 * 512, out), FormatError);
    std::vector<Run> runs;
    CHECK_THROWS_AS(extent->map(0, extent->size(), runs), FormatError);
  }
}

TEST_CASE("damaged SESparse constant headers", "[esxi][sesparse][damage]") {
  EsxiImage image = sesparse_image();
  SECTION("magic") {
    vmdk::test::poke_sesparse_header(image, "magic", 0xCAFEBABF);
    auto e = error_of<FormatError>(image, false);
    CHECK(e.offset() == 0u);
    CHECK_THAT(e.what(), Catch::Contains("no SESparse magic"));
  }
  SECTION("values QEMU refuses are unsupported, naming the field") {
    for (auto [field, value] :
         std::vector<std::pair<const char*, std::uint64_t>>{{"version", 0x0000000200000002},
                                                            {"version", 0x0000000100000001},
                                                            {"grain_size", 16},
                                                            {"grain_table_size", 32},
                                                            {"flags", 1}}) {
      EsxiImage copy = image;
      vmdk::test::poke_sesparse_header(copy, field, value);
      auto e = error_of<UnsupportedError>(copy, false);
      CHECK(e.offset() == se_field(field));
      CHECK_THAT(e.what(), Catch::Contains("not supported"));
    }
  }
  SECTION("reserved fields and padding") {
    vmdk::test::poke_sesparse_header(image, "reserved3", 1);
    CHECK(error_of<FormatError>(image, false).offset() == se_field("reserved3"));
    vmdk::test::poke_sesparse_header(image, "reserved3", 0);
    image.poke(300, 1, 0xff);
    CHECK(error_of<FormatError>(image, false).offset() == 208u);
  }
  SECTION("capacity") {
    vmdk::test::poke_sesparse_header(image, "capacity", kSeSectors - 8);
    CHECK(error_of<FormatError>(image, false).offset() == se_field("capacity"));
    vmdk::test::poke_sesparse_header(image, "capacity", 1ull << 40);
    CHECK_THAT(error_of<FormatError>(image, false).what(), Catch::Contains("64 TiB"));
  }
  SECTION("regions overlap or leave the addressable range") {
    EsxiImage overlap = image;
    vmdk::test::poke_sesparse_header(overlap, "free_bitmap_offset",
                                     overlap.peek(se_field("grain_dir_offset"), 8));
    auto e = error_of<FormatError>(overlap, false);
    CHECK(e.offset() == se_field("free_bitmap_offset"));
    CHECK_THAT(e.what(), Catch::Contains("overlaps the grain_dir region"));
    EsxiImage header = image;
    vmdk::test::poke_sesparse_header(header, "journal_header_offset", 0);
    CHECK_THAT(error_of<FormatError>(header, false).what(), Catch::Contains("overlaps the constant header"));
    vmdk::test::poke_sesparse_header(image, "grains_offset", 1ull << 62);
    CHECK(error_of<FormatError>(image, false).offset() == se_field("grains_offset"));
  }
  SECTION("directory too small for the capacity, or past end of file") {
    vmdk::test::poke_sesparse_header(image, "grain_dir_size", 0);
    CHECK(error_of<FormatError>(image, false).offset() == se_field("grain_dir_size"));
    vmdk::test::poke_sesparse_header(image, "grain_dir_size", 1);
    image.bytes.resize(image.gd_byte_offset + 8);
    CHECK(error_of<FormatError>(image, false).offset() == se_field("grain_dir_offset"));
  }
}

TEST_CASE("damaged SESparse volatile headers, directories and tables", "[esxi][sesparse][damage]") {
  EsxiImage image = sesparse_image();
  const std::uint64_t vol = image.volatile_byte_offset;
  SECTION("volatile header magic, padding and size") {
    vmdk::test::poke_sesparse_volatile(image, "magic", 0xCAFEBABE);
    CHECK(error_of<FormatError>(image, false).offset() == vol);
    vmdk::test::poke_sesparse_volatile(image, "magic", 0xCAFECAFE);
    image.poke(vol + 100, 1, 1);
    CHECK(error_of<FormatError>(image, false).offset() == vol + 32);
    image.poke(vol + 100, 1, 0);
    vmdk::test::poke_sesparse_header(image, "volatile_header_size", 0);
    CHECK(error_of<FormatError>(image, false).offset() == se_field("volatile_header_size"));
  }
  SECTION("a journal to replay is refused") {
    vmdk::test::poke_sesparse_volatile(image, "replay_journal", 1);
    auto e = error_of<UnsupportedError>(image, false);
    CHECK(e.offset() == vol + 24);
    CHECK_THAT(e.what(),
               Catch::Contains("journal must be replayed") && Catch::Contains("open it on ESXi first"));
  }
  SECTION("directory entry not in the allocated form") {
    image.poke(image.gde_offset(0), 8, 0x2000000000000000);
    auto e = error_of<FormatError>(image, false);
    CHECK(e.offset() == image.gde_offset(0));
    CHECK_THAT(e.what(), Catch::Contains("grain directory entry 0 is neither 0 nor 0x10000000"));
  }
  SECTION("directory entry past the tables region, past end of file, or shared") {
    EsxiImage past = image;
    past.poke(past.gde_offset(1), 8, 0x1000000000000002);
    CHECK_THAT(error_of<FormatError>(past, false).what(), Catch::Contains("the tables region holds 0x2"));
    EsxiImage cut = image;
    cut.bytes.resize(cut.gt_byte_offsets[1] + 100);
    auto e = error_of<FormatError>(cut, false);
    CHECK(e.offset() == cut.gde_offset(1));
    CHECK_THAT(e.what(), Catch::Contains("points past end of file"));
    image.poke(image.gde_offset(1), 8, image.peek(image.gde_offset(0), 8));
    e = error_of<FormatError>(image, false);
    CHECK(e.offset() == image.gde_offset(1));
    CHECK_THAT(e.what(), Catch::Contains("both use grain table"));
  }
  SECTION("table entry of type 0 that is not 0") {
    image.poke(image.gte_offset(7), 8, 5);
    auto e = error_of<FormatError>(image, false);
    CHECK(e.offset() == image.gte_offset(7));
    CHECK_THAT(e.what(), Catch::Contains("grain table 0 entry 7 has type 0"));
  }
  SECTION("table entry of an unknown type") {
    for (std::uint64_t type : {4u, 7u, 15u}) {
      image.poke(image.gte_offset(4100), 8, type << 60);
      auto e = error_of<FormatError>(image, false);
      CHECK(e.offset() == image.gte_offset(4100));
      CHECK_THAT(e.what(), Catch::Contains("grain table 1 entry 4 has the unknown type " + hex(type)));
    }
  }
  SECTION("allocated entry past the grains region or past end of file") {
    image.poke(image.gte_offset(3), 8, vmdk::test::sesparse_allocated_entry(kSeSectors / 8));
    auto e = error_of<FormatError>(image, false);
    CHECK(e.offset() == image.gte_offset(3));
    CHECK_THAT(e.what(), Catch::Contains("points past the grains region"));
    image.poke(image.gte_offset(3), 8, vmdk::test::sesparse_allocated_entry(0x1001));
    e = error_of<FormatError>(image, false);
    const std::uint64_t end = image.peek(se_field("grains_offset"), 8) * 512 + 0x1002 * 4096;
    CHECK(std::string(e.what()) == "d-sesparse.vmdk: grain table 0 entry 3 points past end of file (" +
                                       hex(end) + " > " + hex(image.bytes.size()) + ")");
  }
}

TEST_CASE("seeded bit flips in ESXi metadata end in vmdk errors or good reads, nothing else",
          "[esxi][damage]") {
  std::mt19937 random(20240601);
  for (const bool cowd : {true, false}) {
    const EsxiImage clean = cowd ? cowd_image() : sesparse_image();
    // Headers, the start of the directory and every table: where a flip changes what is trusted.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> regions{
        {0, cowd ? 2048 : 512}, {clean.gd_byte_offset, clean.gd_byte_offset + 64}};
    if (!cowd) regions.emplace_back(clean.volatile_byte_offset, clean.volatile_byte_offset + 512);
    for (std::uint64_t table : clean.gt_byte_offsets) {
      if (table != 0) regions.emplace_back(table, table + 4096 * clean.entry_size);
    }
    const std::uint64_t size = (cowd ? kCowdSectors : kSeSectors) * 512;
    std::vector<std::uint8_t> out(static_cast<std::size_t>(size));
    for (int round = 0; round < 200; ++round) {
      EsxiImage image = clean;
      const auto [lo, hi] = regions[random() % regions.size()];
      for (std::uint64_t flips = 1 + random() % 3; flips > 0; --flips) {
        image.bytes[static_cast<std::size_t>(lo + random() % (hi - lo))] ^=
            static_cast<std::uint8_t>(1u << (random() % 8));
      }
      INFO((cowd ? "COWD" : "SESparse") << " round " << round);
      try {
        auto extent = cowd ? cowd::open_cowd_extent(image.file("d-delta.vmdk"), size)
                           : sesparse::open_sesparse_extent(image.file("d-sesparse.vmdk"), size);
        std::vector<Run> runs;
        extent->map(0, size, runs);
        extent->read(0, out);
        extent->details();
      } catch (const vmdk::Error&) {
        // Expected for most flips; anything else escapes and fails the test.
      }
    }
  }
}

namespace {

// (code, offset) of every finding of check's scan of the image.
std::vector<std::pair<std::string, std::uint64_t>> scan(const EsxiImage& image, bool cowd) {
  const std::vector<Finding> findings =
      cowd ? cowd::scan_cowd(image.file("d-delta.vmdk"), kCowdSectors * 512ull)
           : sesparse::scan_sesparse(image.file("d-sesparse.vmdk"), kSeSectors * 512);
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const Finding& f : findings) {
    CHECK(f.severity == Severity::corruption);
    CHECK(f.file == (cowd ? "d-delta.vmdk" : "d-sesparse.vmdk"));
    out.emplace_back(f.code, f.offset.value_or(UINT64_MAX));
  }
  return out;
}

using Found = std::vector<std::pair<std::string, std::uint64_t>>;

}  // namespace

TEST_CASE("check's COWD scan lists every damage with its code and offset", "[esxi][cowd][damage][check]") {
  EsxiImage image = cowd_image();
  const std::uint64_t file_size = image.bytes.size();
  CHECK(scan(image, true).empty());
  SECTION("header: the first refused field, nothing else") {
    vmdk::test::poke_cowd_header(image, "grain_size", 3);
    vmdk::test::poke_cowd_header(image, "num_gd_entries", 1);
    CHECK(scan(image, true) == Found{{"header_invalid", cowd_field("grain_size")}});
    vmdk::test::poke_cowd_header(image, "grain_size", 1);
    vmdk::test::poke_cowd_header(image, "version", 2);
    CHECK(scan(image, true) == Found{{"header_unsupported", cowd_field("version")}});
    vmdk::test::poke_cowd_header(image, "version", 1);
    vmdk::test::poke_cowd_header(image, "num_sectors", kCowdSectors - 1);
    CHECK(scan(image, true) == Found{{"header_capacity_mismatch", cowd_field("num_sectors")}});
    image.bytes.resize(2047);
    CHECK(scan(image, true) == Found{{"header_truncated", 0}});
  }
  SECTION("directory and table entries, all of them, in file order") {
    // A table ending past the file, entries into the header, past the end and inside table 2.
    image.poke(image.gde_offset(1), 4, file_size / 512 - 8);
    image.poke(image.gte_offset(3), 4, 2);
    image.poke(image.gte_offset(9000), 4, file_size / 512);
    image.poke(image.gte_offset(5), 4, image.gt_byte_offsets[2] / 512 + 1);
    CHECK(scan(image, true) == Found{{"gd_entry_past_eof", image.gde_offset(1)},
                                     {"gt_entry_into_metadata", image.gte_offset(3)},
                                     {"gt_entry_into_metadata", image.gte_offset(5)},
                                     {"gt_entry_past_eof", image.gte_offset(9000)}});
  }
  SECTION("a grain cut short by the end of the file") {
    image.bytes.resize(static_cast<std::size_t>(image.grain_byte_offsets.at(9000) + 100));
    CHECK(scan(image, true) == Found{{"grain_truncated", image.gte_offset(9000)}});
  }
  SECTION("two directory entries naming one table") {
    image.poke(image.gde_offset(2), 4, image.peek(image.gde_offset(0), 4));
    CHECK(scan(image, true) == Found{{"gd_entries_share_table", image.gde_offset(2)}});
  }
  SECTION("two table entries naming one grain: both are listed") {
    image.poke(image.gte_offset(9000), 4, image.peek(image.gte_offset(3), 4));
    CHECK(scan(image, true) == Found{{"gt_entries_share_grain", image.gte_offset(3)},
                                     {"gt_entries_share_grain", image.gte_offset(9000)}});
  }
  SECTION("zero-grain entries are not grains: any number of them is fine") {
    image.poke(image.gte_offset(6), 4, 1);
    image.poke(image.gte_offset(4200), 4, 1);
    CHECK(scan(image, true).empty());
  }
  SECTION("a table of garbage: 200 findings, then one that counts the rest") {
    for (std::uint64_t e = 0; e < 4096; ++e) image.poke(image.gt_byte_offsets[0] + e * 4, 4, 2);
    const std::vector<Finding> findings = cowd::scan_cowd(image.file("d-delta.vmdk"), kCowdSectors * 512ull);
    REQUIRE(findings.size() == 201);
    CHECK(findings.back().code == "more_findings");
    CHECK_THAT(findings.back().message, Catch::StartsWith("3896 more findings"));
  }
}

TEST_CASE("check's SESparse scan lists every damage with its code and offset",
          "[esxi][sesparse][damage][check]") {
  EsxiImage image = sesparse_image();
  CHECK(scan(image, false).empty());
  SECTION("headers") {
    vmdk::test::poke_sesparse_header(image, "flags", 1);
    CHECK(scan(image, false) == Found{{"header_unsupported", se_field("flags")}});
    vmdk::test::poke_sesparse_header(image, "flags", 0);
    vmdk::test::poke_sesparse_header(image, "capacity", kSeSectors - 8);
    CHECK(scan(image, false) == Found{{"header_capacity_mismatch", se_field("capacity")}});
    vmdk::test::poke_sesparse_header(image, "capacity", kSeSectors);
    vmdk::test::poke_sesparse_volatile(image, "replay_journal", 1);
    CHECK(scan(image, false) == Found{{"journal_replay_needed", image.volatile_byte_offset + 24}});
    vmdk::test::poke_sesparse_volatile(image, "replay_journal", 0);
    vmdk::test::poke_sesparse_volatile(image, "magic", 0);
    CHECK(scan(image, false) == Found{{"header_invalid", image.volatile_byte_offset}});
    image.bytes.resize(511);
    CHECK(scan(image, false) == Found{{"header_truncated", 0}});
  }
  SECTION("directory and table entries") {
    // Type 0 but not 0, an unknown type, a grain past the grains region and one past the file.
    image.poke(image.gte_offset(7), 8, 5);
    image.poke(image.gte_offset(4100), 8, 0x7000000000000000);
    image.poke(image.gte_offset(3), 8, vmdk::test::sesparse_allocated_entry(kSeSectors / 8));
    image.poke(image.gte_offset(4), 8, vmdk::test::sesparse_allocated_entry(0x1001));
    CHECK(scan(image, false) == Found{{"gt_entry_invalid", image.gte_offset(3)},
                                      {"gt_entry_past_eof", image.gte_offset(4)},
                                      {"gt_entry_invalid", image.gte_offset(7)},
                                      {"gt_entry_invalid", image.gte_offset(4100)}});
    image.poke(image.gde_offset(1), 8, image.peek(image.gde_offset(0), 8));
    const Found shared = scan(image, false);
    REQUIRE_FALSE(shared.empty());
    CHECK(shared.front() ==
          std::pair<std::string, std::uint64_t>{"gd_entries_share_table", image.gde_offset(1)});
    image.poke(image.gde_offset(1), 8, 0x2000000000000000);
    image.poke(image.gde_offset(0), 8, 0x1000000000000002);
    const Found invalid = scan(image, false);
    CHECK(invalid ==
          Found{{"gd_entry_invalid", image.gde_offset(0)}, {"gd_entry_invalid", image.gde_offset(1)}});
  }
  SECTION("two table entries naming one grain: both are listed") {
    image.poke(image.gte_offset(4100), 8, image.peek(image.gte_offset(3), 8));
    CHECK(scan(image, false) == Found{{"gt_entries_share_grain", image.gte_offset(3)},
                                      {"gt_entries_share_grain", image.gte_offset(4100)}});
  }
  SECTION("a table named by two directory entries: one finding, its grains not shared") {
    image.poke(image.gde_offset(1), 8, image.peek(image.gde_offset(0), 8));
    CHECK(scan(image, false) == Found{{"gd_entries_share_table", image.gde_offset(1)}});
  }
  SECTION("zero and unmapped entries are not grains: any number of them is fine") {
    image.poke(image.gte_offset(7), 8, image.peek(image.gte_offset(5), 8));
    image.poke(image.gte_offset(4200), 8, image.peek(image.gte_offset(6), 8));
    CHECK(scan(image, false).empty());
  }
}
