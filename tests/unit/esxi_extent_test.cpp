// ESXi delta extents read alone and in chains under a vmfs base (vmdk-format.md 4.1-4.3, 6.3):
// every grain table entry kind, runs and host offsets, bare extents, `info` details, the real sample.
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "extent/cowd/cowd_extent.hpp"
#include "extent/sesparse/sesparse_extent.hpp"
#include "support/error_text.hpp"
#include "support/esxi_builder.hpp"
#include "support/kdmv_builder.hpp"
#include "support/sha256.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/error.hpp"
#include "vmdk/ops.hpp"

using namespace vmdk;
using vmdk::test::CowdBuilder;
using vmdk::test::EsxiGrain;
using vmdk::test::EsxiImage;
using vmdk::test::pattern_bytes;
using vmdk::test::SesparseBuilder;
using vmdk_test::error_text;
namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> read_all(const Extent& extent) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(extent.size()));
  extent.read(0, out);
  return out;
}

std::vector<std::uint8_t> expected_layer(const EsxiImage& image, std::uint64_t size) {
  std::vector<std::uint8_t> disk(static_cast<std::size_t>(size), 0);
  image.apply(disk);
  return disk;
}

// The map of the whole extent agrees with the image grain by grain (states and host offsets),
// covers it without gaps, and never has two neighbouring runs that should have been merged.
void check_map(const Extent& extent, const EsxiImage& image) {
  std::vector<Run> runs;
  extent.map(0, extent.size(), runs);
  std::uint64_t at = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    REQUIRE(r.offset == at);
    at += r.length;
    if (i > 0) {
      const Run& p = runs[i - 1];
      CHECK_FALSE(
          (p.state == r.state && (r.state != BlockState::data || p.host_offset + p.length == r.host_offset)));
    }
    for (std::uint64_t off = r.offset; off < r.offset + r.length;
         off = (off / image.grain_bytes + 1) * image.grain_bytes) {
      const std::uint64_t g = off / image.grain_bytes;
      INFO("grain " << g);
      auto it = image.grains.find(g);
      if (it == image.grains.end()) {
        CHECK(r.state == BlockState::unallocated);
      } else if (it->second.kind != EsxiGrain::Kind::data) {
        CHECK(r.state == BlockState::zero);
      } else {
        REQUIRE(r.state == BlockState::data);
        CHECK(r.host_offset + (off - r.offset) == image.grain_byte_offsets.at(g) + off % image.grain_bytes);
      }
    }
  }
  CHECK(at == extent.size());
}

void check_slices(const Extent& extent, const std::vector<std::uint8_t>& want) {
  for (auto [off, len] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {0, 1}, {1636, 5000}, {511, 2}, {4095, 4098}, {want.size() - 777, 777}, {2097000, 1000}}) {
    if (off + len > want.size()) continue;
    std::vector<std::uint8_t> out(static_cast<std::size_t>(len));
    extent.read(off, out);
    CHECK(std::equal(out.begin(), out.end(), want.begin() + static_cast<std::ptrdiff_t>(off)));
  }
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string descriptor(const std::string& cid, const std::string& parent_cid, const std::string& type,
                       const std::string& line, const std::string& hint = "") {
  std::string text = "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=" + cid +
                     "\nparentCID=" + parent_cid + "\ncreateType=\"" + type + "\"\n";
  if (!hint.empty()) text += "parentFileNameHint=\"" + hint + "\"\n";
  return text + "\n# Extent description\n" + line + "\n\n# The Disk Data Base\n#DDB\n\n";
}

// base.vmdk (createType `type`, one VMFS line) over base-flat.vmdk holding pattern bytes.
std::vector<std::uint8_t> vmfs_base(const fs::path& dir, std::uint64_t sectors,
                                    const std::string& type = "vmfs") {
  std::vector<std::uint8_t> bytes = pattern_bytes(static_cast<std::size_t>(sectors * 512), 99);
  std::ofstream(dir / "base-flat.vmdk", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  write_text(dir / "base.vmdk", descriptor("0172e8a4", "ffffffff", type,
                                           "RW " + std::to_string(sectors) + " VMFS \"base-flat.vmdk\""));
  return bytes;
}

// NAME.vmdk + NAME-<suffix>.vmdk, a delta of parent.vmdk.
void delta_link(const fs::path& dir, const std::string& name, const std::string& parent,
                const std::string& cid, const std::string& parent_cid, const EsxiImage& image,
                std::uint64_t sectors, bool cowd) {
  const std::string file = name + (cowd ? "-delta.vmdk" : "-sesparse.vmdk");
  image.write(dir / file);
  write_text(dir / (name + ".vmdk"), descriptor(cid, parent_cid, cowd ? "vmfsSparse" : "seSparse",
                                                "RW " + std::to_string(sectors) +
                                                    (cowd ? " VMFSSPARSE \"" : " SESPARSE \"") + file + "\"",
                                                parent + ".vmdk"));
}

std::vector<std::uint8_t> chain_bytes(const fs::path& leaf) {
  auto chain = Chain::open(leaf);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(chain->capacity()));
  // Odd chunk sizes: reads start and end inside grains, tables and windows.
  for (std::size_t at = 0; at < out.size(); at += 1234567) {
    chain->read(at,
                std::span<std::uint8_t>(out).subspan(at, std::min<std::size_t>(1234567, out.size() - at)));
  }
  return out;
}

}  // namespace

TEST_CASE("COWD extent: unallocated, zero (GTE 1) and data grains, tables appended on demand",
          "[esxi][cowd]") {
  const std::uint32_t capacity = 3 * 4096 + 100;  // four tables, the last one partial
  EsxiImage image = CowdBuilder(capacity)
                        .fill_grain(5000, 0x50)  // table 1 is appended first
                        .grain(3, pattern_bytes(512, 3))
                        .zero_grain(4)
                        .fill_grain(10, 0x10)
                        .fill_grain(11, 0x11)
                        .fill_grain(12, 0x12)
                        .fill_grain(20, 0x20)
                        .fill_grain(19, 0x19)  // next to 20 in the disk, not in the file
                        .fill_grain(4095, 0x40)
                        .fill_grain(4096, 0x41)
                        .fill_grain(capacity - 1, 0x7f)
                        .build();
  auto extent = cowd::open_cowd_extent(image.file("child-delta.vmdk"), std::uint64_t{capacity} * 512);
  REQUIRE(extent->size() == std::uint64_t{capacity} * 512);
  const auto want = expected_layer(image, extent->size());
  CHECK(read_all(*extent) == want);
  check_slices(*extent, want);
  check_map(*extent, image);
  CHECK(extent->host_source() != nullptr);

  CHECK(extent->block_status(0, extent->size()) ==
        Run{0, 3 * 512, BlockState::unallocated, kNoHostOffset, false});
  CHECK(extent->block_status(3 * 512 + 7, 100) ==
        Run{3 * 512 + 7, 100, BlockState::data, image.grain_byte_offsets.at(3) + 7, false});
  CHECK(extent->block_status(4 * 512, extent->size() - 4 * 512).state == BlockState::zero);
  // Grains 10-12 follow each other in the file: one run.
  CHECK(extent->block_status(10 * 512, 1 << 20) ==
        Run{10 * 512, 3 * 512, BlockState::data, image.grain_byte_offsets.at(10), false});
  // Table 2 is absent and table 3 empty up to the last sector: one unallocated run across both.
  CHECK(extent->block_status(8192 * 512, extent->size() - 8192 * 512) ==
        Run{8192 * 512, (capacity - 1 - 8192) * 512ull, BlockState::unallocated, kNoHostOffset, false});

  const ExtentDetails d = extent->details();
  CHECK(d.format == "cowd");
  CHECK(d.grain_size == 512);
  CHECK(d.allocated_bytes == 10 * 512);
  CHECK(std::find(d.header.begin(), d.header.end(),
                  std::pair<std::string, std::uint64_t>{"num_sectors", capacity}) != d.header.end());
}

TEST_CASE("COWD extent with 8-sector grains", "[esxi][cowd]") {
  const std::uint32_t capacity = 70000;  // 8750 grains, three tables
  EsxiImage image = CowdBuilder(capacity, 8)
                        .grain(0, pattern_bytes(4096, 1))
                        .zero_grain(5)
                        .grain(4096, pattern_bytes(4096, 2))
                        .grain(1, pattern_bytes(4096, 3))
                        .grain(8749, pattern_bytes(4096, 4))
                        .build();
  auto extent = cowd::open_cowd_extent(image.file("d-delta.vmdk"), std::uint64_t{capacity} * 512);
  const auto want = expected_layer(image, extent->size());
  CHECK(read_all(*extent) == want);
  check_slices(*extent, want);
  check_map(*extent, image);
  CHECK(extent->details().allocated_bytes == 4 * 4096);
}

TEST_CASE("SESparse extent: every grain table entry type, split grain index, tables in allocation order",
          "[esxi][sesparse]") {
  const std::uint64_t capacity = 2 * 32768 + 1000;  // three tables, the last one partial
  EsxiImage image = SesparseBuilder(capacity)
                        .fill_grain(4096, 0x41)  // table 1 takes grain table 0
                        .grain(0, pattern_bytes(4096, 0))
                        .grain(1, pattern_bytes(4096, 1))
                        .grain(2, pattern_bytes(4096, 2))
                        .grain(3, pattern_bytes(4096, 3))
                        .zero_grain(5)
                        .unmapped_grain(6)
                        .fill_grain(9, 0x09)
                        .fill_grain(8, 0x08)
                        .grain(7, pattern_bytes(4096, 7), 0x1234)  // index split over both bit fields
                        .fill_grain(capacity / 8 - 1, 0x7f)
                        .build();
  auto extent = sesparse::open_sesparse_extent(image.file("child-sesparse.vmdk"), capacity * 512);
  const auto want = expected_layer(image, extent->size());
  CHECK(read_all(*extent) == want);
  check_slices(*extent, want);
  check_map(*extent, image);
  CHECK(extent->host_source() != nullptr);

  CHECK(extent->block_status(0, extent->size()) ==
        Run{0, 4 * 4096, BlockState::data, image.grain_byte_offsets.at(0), false});
  CHECK(extent->block_status(4 * 4096, extent->size()).state == BlockState::unallocated);
  // Zero (type 2) and unmapped (type 1) grains both read zeros and hide the parent.
  CHECK(extent->block_status(5 * 4096, extent->size()) ==
        Run{5 * 4096, 2 * 4096, BlockState::zero, kNoHostOffset, false});
  CHECK(extent->block_status(7 * 4096 + 1, 10) ==
        Run{7 * 4096 + 1, 10, BlockState::data, image.grain_byte_offsets.at(7) + 1, false});
  CHECK(image.grain_byte_offsets.at(7) == (image.peek(192, 8) + 0x1234 * 8) * 512);

  const ExtentDetails d = extent->details();
  CHECK(d.format == "sesparse");
  CHECK(d.grain_size == 4096);
  CHECK(d.allocated_bytes == 9 * 4096);
}

TEST_CASE("ESXi deltas read through a chain under a vmfs base", "[esxi][chain]") {
  vmdk_test::TempDir dir("vmdkit-esxi");
  constexpr std::uint32_t sectors = 3 * 4096 + 8;  // 6 MiB + 4 KiB
  SECTION("vmfsSparse over vmfsSparse over vmfs") {
    std::vector<std::uint8_t> want = vmfs_base(dir.path, sectors);
    EsxiImage child = CowdBuilder(sectors)
                          .fill_grain(0, 0xc1)
                          .fill_grain(1, 0xc2)
                          .fill_grain(4097, 0xc3)
                          .fill_grain(100, 0xc4)
                          .zero_grain(200)
                          .zero_grain(201)
                          .fill_grain(sectors - 1, 0xc5)
                          .build();
    EsxiImage grandchild = CowdBuilder(sectors)
                               .zero_grain(0)  // hides the child's data
                               .fill_grain(2, 0xd1)
                               .fill_grain(201, 0xd2)
                               .fill_grain(8191, 0xd3)
                               .fill_grain(8192, 0xd4)
                               .build();
    delta_link(dir.path, "base-000001", "base", "8f67ca74", "0172e8a4", child, sectors, true);
    delta_link(dir.path, "base-000002", "base-000001", "1f2e3d4c", "8f67ca74", grandchild, sectors, true);
    child.apply(want);
    grandchild.apply(want);
    CHECK(chain_bytes(dir / "base-000002.vmdk") == want);
    auto chain = Chain::open(dir / "base-000002.vmdk");
    const auto runs = chain->map(0, 512);
    REQUIRE(runs.size() == 1);
    CHECK((runs[0].zero && !runs[0].data && runs[0].depth == 0));
  }
  SECTION("seSparse over seSparse over vmfsThin") {
    std::vector<std::uint8_t> want = vmfs_base(dir.path, sectors, "vmfsThin");
    EsxiImage child = SesparseBuilder(sectors)
                          .fill_grain(0, 0xa1)
                          .fill_grain(1, 0xa2)
                          .fill_grain(600, 0xa3)
                          .zero_grain(2)
                          .unmapped_grain(3)
                          .fill_grain(sectors / 8 - 1, 0xa4)
                          .build();
    EsxiImage grandchild = SesparseBuilder(sectors)
                               .unmapped_grain(0)
                               .fill_grain(3, 0xb1)
                               .fill_grain(599, 0xb2)
                               .fill_grain(1500, 0xb3)
                               .build();
    delta_link(dir.path, "base-000001", "base", "8f67ca74", "0172e8a4", child, sectors, false);
    delta_link(dir.path, "base-000002", "base-000001", "1f2e3d4c", "8f67ca74", grandchild, sectors, false);
    child.apply(want);
    grandchild.apply(want);
    CHECK(chain_bytes(dir / "base-000002.vmdk") == want);
  }
}

TEST_CASE("descriptors open COWD and SESparse extents, bare ones are refused with their descriptor's name",
          "[esxi][disk]") {
  vmdk_test::TempDir dir("vmdkit-esxi");
  // COWD grain 56 (one sector) and SESparse grain 7 (4 KiB) both start at byte 0x7000.
  CowdBuilder(4096).fill_grain(56, 0x77).build().write(dir / "child-delta.vmdk");
  SesparseBuilder(4096).fill_grain(7, 0x77).build().write(dir / "child-sesparse.vmdk");
  CHECK_THROWS_AS(Disk::open(dir / "child-delta.vmdk"), UnsupportedError);
  CHECK_THAT(error_text([&] { Disk::open(dir / "child-delta.vmdk"); }),
             Catch::Contains("bare ESXi vmfsSparse (COWD) extent") &&
                 Catch::Contains("open its descriptor (child.vmdk)"));
  CHECK_THAT(
      error_text([&] { Disk::open(dir / "child-sesparse.vmdk"); }),
      Catch::Contains("bare ESXi SESparse extent") && Catch::Contains("open its descriptor (child.vmdk)"));

  write_text(dir / "cowd.vmdk",
             descriptor("11111111", "ffffffff", "vmfsSparse", "RW 4096 VMFSSPARSE \"child-delta.vmdk\""));
  write_text(dir / "se.vmdk",
             descriptor("11111111", "ffffffff", "seSparse", "RW 4096 SESPARSE \"child-sesparse.vmdk\""));
  for (const char* name : {"cowd.vmdk", "se.vmdk"}) {
    auto disk = Disk::open(dir / name);
    std::vector<std::uint8_t> out(4096);
    disk->read(7 * 4096 - 2048, out);
    const bool cowd = std::string(name) == "cowd.vmdk";
    const std::uint64_t lo = 7 * 4096, hi = lo + (cowd ? 512 : 4096);
    for (std::uint64_t i = 0; i < out.size(); ++i) {
      const std::uint64_t at = 7 * 4096 - 2048 + i;
      REQUIRE(out[i] == (at >= lo && at < hi ? 0x77 : 0));
    }
    const InfoReport report = info(dir / name);
    REQUIRE(report.extents.size() == 1);
    CHECK(report.extents[0].status == "ok");
    REQUIRE(report.extents[0].details);
    CHECK(report.extents[0].details->format == (cowd ? "cowd" : "sesparse"));
  }
  // A VMFSSPARSE line over a file that is not COWD: a format error, not "unsupported".
  write_text(dir / "bad.vmdk",
             descriptor("11111111", "ffffffff", "vmfsSparse", "RW 4096 VMFSSPARSE \"child-sesparse.vmdk\""));
  CHECK_THROWS_AS(Disk::open(dir / "bad.vmdk"), FormatError);
  CHECK_THAT(error_text([&] { Disk::open(dir / "bad.vmdk"); }), Catch::Contains("no COWD magic"));
  // Raw device mappings stay refused.
  write_text(dir / "rdm.vmdk",
             descriptor("11111111", "ffffffff", "vmfsRawDeviceMap", "RW 4096 VMFSRDM \"child-delta.vmdk\""));
  CHECK_THROWS_AS(Disk::open(dir / "rdm.vmdk"), UnsupportedError);
}

TEST_CASE("the real SESparse sample reads to its manifest sha256", "[esxi][samples]") {
  const fs::path samples = fs::path(VMDKIT_SAMPLES_DIR) / "esxi";
  if (!fs::exists(samples / "disk-sesparse.vmdk.gz") || !fs::exists(samples / "sesparse.vmdk")) {
    WARN("samples not found: skipped");
    return;
  }
  vmdk_test::TempDir dir("vmdkit-esxi");
  fs::copy_file(samples / "sesparse.vmdk", dir / "sesparse.vmdk");
  {
    gzFile in = gzopen((samples / "disk-sesparse.vmdk.gz").c_str(), "rb");
    REQUIRE(in != nullptr);
    std::ofstream out(dir / "disk-sesparse.vmdk", std::ios::binary);
    std::vector<char> buffer(1 << 20);
    int got = 0;
    while ((got = gzread(in, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0)
      out.write(buffer.data(), got);
    gzclose(in);
    REQUIRE(got == 0);
  }
  auto chain = Chain::open(dir / "sesparse.vmdk");
  REQUIRE(chain->capacity() == 536870912);
  vmdk::test::Sha256 sha;
  std::vector<std::uint8_t> chunk(4 << 20);
  for (std::uint64_t at = 0; at < chain->capacity(); at += chunk.size()) {
    chain->read(at, chunk);
    if (at < (16 << 20)) {
      CHECK(std::all_of(chunk.begin(), chunk.end(), [](std::uint8_t b) { return b == 'a'; }));
    }
    sha.update(chunk);
  }
  CHECK(sha.hex_digest() == "3afa48010241335528fe402f083fc9f3a1013a49485221443a78d9a8604e2f90");
}
