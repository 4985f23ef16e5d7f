// check and repair on built images: each damage of a sparse file is one finding at the damaged
// structure's offset, the repair plan restores or clears it, and the undo log puts every byte back.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "extent/sparse/sparse_scan.hpp"
#include "format/grain_directory.hpp"
#include "format/sparse_header.hpp"
#include "support/file_contents.hpp"
#include "support/kdmv_builder.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/check.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/repair.hpp"

using namespace vmdk;
using vmdk::test::KdmvBuilder;
using vmdk::test::KdmvImage;
using vmdk::test::KdmvKind;

namespace {

constexpr std::uint64_t kCapacity = 2 * 65536;  // sectors: 64 MiB, two grain tables
constexpr std::uint64_t kGrain = 65536;

KdmvImage image() {
  return KdmvBuilder(kCapacity)
      .descriptor("# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicSparse\"\n"
                  "RW 131072 SPARSE \"disk.vmdk\"\n",
                  20)
      .fill_grain(0, 1)
      .fill_grain(5, 5)
      .fill_grain(600, 6)
      .build();
}

std::vector<Finding> scan(const KdmvImage& img) { return sparse::scan_sparse(*img.file(), kCapacity * 512).findings; }

bool has(const std::vector<Finding>& findings, const std::string& code, std::uint64_t offset) {
  for (const Finding& f : findings) {
    if (f.code == code && f.offset == offset) return true;
  }
  return false;
}

std::uint64_t rgte_offset(const KdmvImage& img, std::uint64_t grain) {
  // The builder lays the redundant tables out like QEMU: right after the redundant directory.
  const auto geometry = format::grain_geometry(kCapacity, 128, 512);
  const std::uint64_t table = grain / 512;
  return (img.rgd_sector + geometry.gd_sectors + table * geometry.gt_sectors) * 512 + (grain % 512) * 4;
}

void write_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
}

using vmdk_test::read_file;

std::vector<std::uint8_t> contents(const std::filesystem::path& path) {
  auto chain = Chain::open(path);
  std::vector<std::uint8_t> out(chain->capacity());
  chain->read(0, out);
  return out;
}

}  // namespace

TEST_CASE("a sound image has no findings", "[check]") { CHECK(scan(image()).empty()); }

TEST_CASE("each damage is one finding at the damaged structure", "[check]") {
  KdmvImage img = image();
  SECTION("primary directory entry past the end of the file") {
    img.poke(img.gde_offset(0), 4, 0xffff00);
    CHECK(has(scan(img), "gd_entry_past_eof", img.gde_offset(0)));
  }
  SECTION("directory entry into the header") {
    img.poke(img.gde_offset(1), 4, 1);
    CHECK(has(scan(img), "gd_entry_into_metadata", img.gde_offset(1)));
  }
  SECTION("two directory entries sharing a table") {
    img.poke(img.gde_offset(1), 4, img.gt_sectors[0]);
    auto findings = scan(img);
    CHECK(has(findings, "gd_entries_share_table", img.gde_offset(0)));
    CHECK(has(findings, "gd_entries_share_table", img.gde_offset(1)));
  }
  SECTION("table entry past the end of the file") {
    img.poke(img.gte_offset(5), 4, 0x7fffff);
    CHECK(has(scan(img), "gt_entry_past_eof", img.gte_offset(5)));
  }
  SECTION("table entry into the metadata") {
    img.poke(img.gte_offset(5), 4, 3);
    CHECK(has(scan(img), "gt_entry_into_metadata", img.gte_offset(5)));
  }
  SECTION("two entries sharing a grain, in both copies") {
    img.poke(img.gte_offset(5), 4, img.grain_sectors.at(0));
    img.poke(rgte_offset(img, 5), 4, img.grain_sectors.at(0));
    auto findings = scan(img);
    CHECK(has(findings, "gt_entries_share_grain", img.gte_offset(0)));
    CHECK(has(findings, "gt_entries_share_grain", img.gte_offset(5)));
  }
  SECTION("copies that differ") {
    img.poke(rgte_offset(img, 5), 4, 0);
    CHECK(has(scan(img), "gt_copies_differ", rgte_offset(img, 5)));
  }
  SECTION("unclean shutdown is a warning") {
    img.poke_header("unclean_shutdown", 1);
    auto findings = scan(img);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].severity == Severity::warning);
    CHECK(findings[0].offset == 72);
  }
  SECTION("a cut-short last grain") {
    img.bytes.resize(img.bytes.size() - 1000);
    CHECK(has(scan(img), "grain_truncated", img.gte_offset(600)));
  }
  SECTION("space no entry uses is a leak") {
    img.bytes.resize(img.bytes.size() + 2 * kGrain, 0xee);
    auto findings = scan(img);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].code == "leaked_grains");
    CHECK(findings[0].severity == Severity::leak);
  }
  SECTION("a bad header field stops the scan with one finding") {
    img.poke_header("grain_size", 3);
    auto findings = scan(img);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].code == "header_invalid");
    CHECK(findings[0].offset == format::sparse_header_field("grain_size").offset);
  }
}

TEST_CASE("the repair plan keeps the sound copy and clears what no copy holds", "[check]") {
  KdmvImage img = image();
  img.poke(img.gte_offset(5), 4, 0x7fffff);  // primary only: restored from the redundant copy
  auto result = sparse::scan_sparse(*img.file(), kCapacity * 512);
  CHECK(result.lost.empty());
  CHECK(result.repaired[0][5] == img.grain_sectors.at(5));
  img.poke(rgte_offset(img, 5), 4, 0x7fffff);  // both copies: cleared and lost
  result = sparse::scan_sparse(*img.file(), kCapacity * 512);
  REQUIRE(result.lost.size() == 1);
  CHECK(result.lost[0].offset == 5 * kGrain);
  CHECK(result.repaired[0][5] == 0);
}

namespace {

// Counts the reads that touch one byte range of the file it wraps.
class CountingSource final : public vmdk::ByteSource {
 public:
  CountingSource(std::shared_ptr<const vmdk::ByteSource> file, std::uint64_t watched)
      : file_(std::move(file)), watched_(watched) {}
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    if (offset <= watched_ && watched_ < offset + out.size()) ++hits;
    return file_->read_at(offset, out);
  }
  std::uint64_t size() const override { return file_->size(); }
  const std::string& name() const override { return file_->name(); }
  mutable int hits = 0;

 private:
  std::shared_ptr<const vmdk::ByteSource> file_;
  std::uint64_t watched_;
};

}  // namespace

TEST_CASE("a table several directory entries name is reported for each and never read", "[check]") {
  KdmvImage img = image();
  const std::uint64_t table0 = img.gt_sectors.at(0);
  img.poke(img.gde_offset(1), 4, table0);
  CountingSource source(img.file(), table0 * 512);
  const auto result = sparse::scan_sparse(source, kCapacity * 512);
  CHECK(has(result.findings, "gd_entries_share_table", img.gde_offset(0)));
  CHECK(has(result.findings, "gd_entries_share_table", img.gde_offset(1)));
  // Both entries are set aside: the shared table is not read once per entry (a million entries
  // naming one table cost a million table reads before).
  CHECK(source.hits == 0);
}

TEST_CASE("a scan stores no entries for a table that names no grain", "[check]") {
  const KdmvImage img = KdmvBuilder(kCapacity).fill_grain(0, 1).build();
  const auto result = sparse::scan_sparse(*img.file(), kCapacity * 512);
  REQUIRE(result.primary.size() == 2);
  CHECK(result.primary[0].entries.holds_entries());
  CHECK_FALSE(result.primary[1].entries.holds_entries());
  CHECK(result.primary[1].entries.size() == 512);
  CHECK(result.repaired[1] == sparse::GrainTable::unallocated(512));
  CHECK(result.findings.empty());
}

TEST_CASE("a scan for findings lists the same findings without the lost ranges", "[check]") {
  KdmvImage img = image();
  img.poke(img.gte_offset(5), 4, 0x7fffff);
  img.poke(rgte_offset(img, 5), 4, 0x7fffff);
  const auto repair = sparse::scan_sparse(*img.file(), kCapacity * 512);
  const auto check = sparse::scan_sparse(*img.file(), kCapacity * 512, sparse::ScanUse::findings);
  CHECK(repair.lost.size() == 1);
  CHECK(check.lost.empty());
  REQUIRE(check.findings.size() == repair.findings.size());
  for (std::size_t i = 0; i < check.findings.size(); ++i) CHECK(check.findings[i].message == repair.findings[i].message);
}

TEST_CASE("repair fixes the file, reports the loss, and undo restores it byte for byte", "[repair]") {
  vmdk_test::TempDir dir;
  const auto path = dir / "disk.vmdk";
  KdmvImage img = image();
  const auto original = img.bytes;
  write_file(path, original);
  const auto before = contents(path);

  img.poke(img.gde_offset(0), 4, 0xffff00);    // directory entry: restored from the redundant copy
  img.poke(img.gte_offset(600), 4, 0x7fffff);  // both copies of grain 600: lost
  img.poke(rgte_offset(img, 600), 4, 0x7fffff);
  img.bytes.resize(img.bytes.size() + kGrain, 0xee);  // a leak
  img.poke_header("unclean_shutdown", 1);
  write_file(path, img.bytes);
  const auto damaged = read_file(path);
  CHECK(check(path).exit_status() == 2);

  RepairOptions dry;
  dry.dry_run = true;
  RepairReport plan = repair(path, dry);
  CHECK(!plan.actions.empty());
  CHECK(read_file(path) == damaged);  // a dry run writes nothing

  RepairReport report = repair(path);
  REQUIRE(report.after);
  // The layer had damaged entries: no unreferenced grain is provably garbage, so the grain lost
  // entry 600 pointed at and the appended leak stay in the file as kept grains (issue 14).
  CHECK(report.after->corruptions == 0);
  CHECK(report.unrepaired.empty());
  CHECK(!report.kept.empty());
  CHECK(report.exit_status() == 4);
  REQUIRE(report.lost.size() == 1);
  CHECK(report.lost[0].offset == 600 * kGrain);
  CHECK(report.lost[0].length == kGrain);
  auto after = contents(path);
  std::fill(after.begin() + 600 * kGrain, after.begin() + 601 * kGrain, std::uint8_t{0});
  auto expected = before;
  std::fill(expected.begin() + 600 * kGrain, expected.begin() + 601 * kGrain, std::uint8_t{0});
  CHECK(after == expected);

  UndoReport undo = undo_repair(path);
  CHECK(undo.bytes > 0);
  CHECK(read_file(path) == damaged);
  CHECK_THROWS_AS(undo_repair(path), UsageError);  // the log is gone with the undo
}

TEST_CASE("a cut-short stream is salvaged up to its last whole grain", "[repair]") {
  vmdk_test::TempDir dir;
  const auto path = dir / "stream.vmdk";
  KdmvImage img = KdmvBuilder(kCapacity, KdmvKind::stream_footer)
                      .descriptor("# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
                                  "createType=\"streamOptimized\"\nRW 131072 SPARSE \"stream.vmdk\"\n",
                                  1)
                      .fill_grain(0, 1)
                      .fill_grain(1, 2)
                      .fill_grain(700, 7)
                      .build();
  write_file(path, img.bytes);
  const auto before = contents(path);
  const std::uint64_t cut = img.grain_sectors.at(700) * 512 + 20;  // inside grain 700's record
  img.bytes.resize(cut);
  write_file(path, img.bytes);
  CheckReport damaged = check(path);
  REQUIRE(damaged.findings.size() == 1);
  CHECK(damaged.findings[0].code == "stream_footer_invalid");

  RepairReport report = repair(path);
  REQUIRE(report.after);
  CHECK(report.after->findings.empty());
  REQUIRE(report.lost.size() == 1);
  CHECK(report.lost[0].offset == 2 * kGrain);
  const auto after = contents(path);
  CHECK(std::equal(after.begin(), after.begin() + 2 * kGrain, before.begin()));
  CHECK(std::all_of(after.begin() + 2 * kGrain, after.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST_CASE("strict opening refuses external extents and parents", "[check]") {
  vmdk_test::TempDir dir;
  write_file(dir / "flat-flat.vmdk", std::vector<std::uint8_t>(1024 * 1024));
  const std::string text =
      "# Disk DescriptorFile\nversion=1\nCID=00000001\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
      "RW 2048 FLAT \"flat-flat.vmdk\" 0\n";
  std::ofstream(dir / "flat.vmdk") << text;
  OpenOptions strict;
  strict.strict = true;
  CHECK_THROWS_AS(Disk::open(dir / "flat.vmdk", strict), UsageError);
  CHECK_NOTHROW(Disk::open(dir / "flat.vmdk"));
  write_file(dir / "self.vmdk", image().bytes);
  CHECK_NOTHROW(Disk::open(dir / "self.vmdk", strict));
}
