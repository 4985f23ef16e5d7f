// consolidate (vmdk-format.md 6.4): plans on small chains made with create/snapshot/write (grain
// counts, extra space, zero grains), refusals before any write, the merge itself, and the strict
// parsing of the journal.
#include "vmdk/consolidate.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "ops/common/journal.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/create.hpp"
#include "vmdk/disk_type.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/write.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
namespace fs = std::filesystem;
using vmdk_test::error_text;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;
constexpr std::uint64_t kGrain = 64 * 1024;

struct TempDir : vmdk_test::TempDir {
  TempDir() : vmdk_test::TempDir("vmdkit-consolidate") {}
};

void fill(const fs::path& disk, std::uint64_t offset, std::uint64_t length, std::uint8_t byte) {
  WriteData data;
  data.kind = WriteData::Kind::pattern;
  data.pattern = byte;
  data.length = length;
  write(disk, offset, data);
}

void zero(const fs::path& disk, std::uint64_t offset, std::uint64_t length) {
  WriteData data;
  data.kind = WriteData::Kind::zero;
  data.length = length;
  write(disk, offset, data);
}

std::vector<std::uint8_t> content(const fs::path& disk) {
  auto chain = Chain::open(disk);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(chain->capacity()));
  chain->read(0, bytes);
  return bytes;
}

// base (16 MiB, 0x11 in the first MiB) <- delta (0x22 at 512 KiB..640 KiB, 0x33 100 bytes at 5 MiB).
fs::path make_pair(const TempDir& dir, bool zeroed_child = false) {
  CreateOptions create_options;
  create_options.capacity = 16 * kMiB;
  create_options.seed = 1;
  create(dir / "base.vmdk", create_options);
  fill(dir / "base.vmdk", 0, kMiB, 0x11);
  SnapshotOptions snap;
  snap.seed = 2;
  snap.zeroed_grains = zeroed_child;
  const fs::path child = snapshot(dir / "base.vmdk", snap).path;
  fill(child, 512 * 1024, 128 * 1024, 0x22);
  fill(child, 5 * kMiB, 100, 0x33);
  return child;
}

}  // namespace

TEST_CASE("a dry run counts the grains written and the space appended") {
  TempDir dir;
  const fs::path child = make_pair(dir);
  ConsolidateOptions options;
  options.dry_run = true;
  options.seed = 3;
  const auto before = content(dir / "base.vmdk");
  ConsolidateReport report = consolidate(child, options);
  CHECK_FALSE(report.done);
  CHECK(report.result == child.string());
  CHECK(report.plan.merged == std::vector<std::string>{child.string()});
  CHECK(report.plan.removed == std::vector<std::string>{child.string()});
  CHECK(report.plan.grains == 3);
  CHECK(report.plan.bytes == 3 * kGrain);
  CHECK(report.plan.zero_grains == 0);
  CHECK(report.plan.extra_space == kGrain);  // the grain at 5 MiB; the other two are in the base
  CHECK(report.plan.free_space > 0);
  CHECK(report.plan.new_ancestor_cid != report.plan.ancestor_cid);
  CHECK(report.plan.relinks.empty());
  CHECK(content(dir / "base.vmdk") == before);
  CHECK(fs::exists(child));
  CHECK_FALSE(fs::exists(report.plan.journal));
}

TEST_CASE("the merge writes TOP's content into the base and removes the delta") {
  TempDir dir;
  const fs::path child = make_pair(dir);
  const auto want = content(child);
  ConsolidateReport report = consolidate(child);
  CHECK(report.done);
  CHECK(report.result == (dir / "base.vmdk").string());
  CHECK_FALSE(fs::exists(child));
  CHECK(content(dir / "base.vmdk") == want);
  auto base = Disk::open(dir / "base.vmdk");
  CHECK(base->descriptor().cid() == report.plan.new_ancestor_cid);
  CHECK_FALSE(fs::exists(report.plan.journal));
}

TEST_CASE("zero grains: zeroed-grain entries in the delta are counted and need no space in a base") {
  TempDir dir;
  const fs::path child = make_pair(dir, true);
  zero(child, 8 * kMiB, kMiB);  // unallocated in the base: nothing to write
  zero(child, 0, 256 * 1024);   // over base data
  ConsolidateOptions options;
  options.dry_run = true;
  ConsolidateReport plan = consolidate(child, options);
  CHECK(plan.plan.zero_grains == 20);
  CHECK(plan.plan.grains == 23);
  CHECK(plan.plan.extra_space == kGrain);
  const auto want = content(child);
  consolidate(child);
  CHECK(content(dir / "base.vmdk") == want);
}

TEST_CASE("refusals come before any write") {
  TempDir dir;
  const fs::path child = make_pair(dir);
  const auto before = content(dir / "base.vmdk");

  SECTION("a base has nothing to merge into") {
    CHECK_THROWS_AS(consolidate(dir / "base.vmdk"), UsageError);
  }
  SECTION("--into must be a layer below TOP") {
    ConsolidateOptions options;
    options.into = child;
    CHECK_THAT(error_text([&] { consolidate(child, options); }), Catch::Contains("TOP itself"));
    options.into = dir / "missing.vmdk";
    CHECK_THROWS_AS(consolidate(child, options), UsageError);
  }
  SECTION("a sibling is named and force does not override it") {
    SnapshotOptions snap;
    snap.force = true;
    const fs::path sibling = snapshot(dir / "base.vmdk", snap).path;
    ConsolidateOptions options;
    options.force = true;
    const std::string text = error_text([&] { consolidate(child, options); });
    CHECK_THAT(text, Catch::Contains(sibling.filename().string()) && Catch::Contains("outside the merge"));
    options.dry_run = true;
    CHECK_THROWS_AS(consolidate(child, options), UsageError);
  }
  SECTION("a lock unless forced") {
    fs::create_directory(dir / "base.vmdk.lck");
    CHECK_THAT(error_text([&] { consolidate(child); }), Catch::Contains("base.vmdk.lck"));
    ConsolidateOptions options;
    options.force = true;
    options.dry_run = true;
    CHECK_NOTHROW(consolidate(child, options));
  }
  SECTION("a journal of another run beside the ancestor") {
    std::ofstream(dir / ".base.vmdk.vmdkit-consolidate") << "{}";
    CHECK_THAT(error_text([&] { consolidate(child); }), Catch::Contains(".base.vmdk.vmdkit-consolidate"));
  }
  CHECK(content(dir / "base.vmdk") == before);
  CHECK(fs::exists(child));
}

TEST_CASE("a streamOptimized ancestor is refused") {
  TempDir dir;
  CreateOptions create_options;
  create_options.capacity = 4 * kMiB;
  create_options.type = DiskType::stream_optimized;
  create(dir / "s.vmdk", create_options);
  const fs::path child = snapshot(dir / "s.vmdk").path;
  fill(child, 0, 4096, 0x44);
  CHECK_THROWS_AS(consolidate(child), UnsupportedError);
  CHECK(fs::exists(child));
}

TEST_CASE("journal text round-trips and is parsed strictly") {
  TempDir dir;
  ops::Journal journal;
  journal.file = dir / ".base.vmdk.vmdkit-consolidate";
  journal.stage = ops::Journal::Stage::switch_links;
  journal.top = dir / "base-000002.vmdk";
  journal.ancestor = dir / "base.vmdk";
  journal.merged = {dir / "base-000002.vmdk", dir / "base-000001.vmdk"};
  journal.removed = journal.merged;
  journal.relinks.push_back({dir / "base-000003.vmdk", "base-000002.vmdk", "base.vmdk", 0x1234, 0xabcdef01});
  journal.ancestor_cid = 0x55;
  journal.new_ancestor_cid = 0xabcdef01;
  const std::string text = ops::journal_text(journal);
  CHECK(text.find(dir.path.string()) == std::string::npos);  // names relative to the folder
  ops::Journal back = ops::parse_journal(text, journal.file, false);
  CHECK(back.stage == journal.stage);
  CHECK(back.top == journal.top);
  CHECK(back.merged == journal.merged);
  CHECK(back.relinks.at(0).path == journal.relinks[0].path);
  CHECK(back.relinks.at(0).old_parent_cid == 0x1234);
  CHECK(back.new_ancestor_cid == 0xabcdef01);
  CHECK(ops::journal_names(back, dir / "base-000003.vmdk"));
  CHECK_FALSE(ops::journal_names(back, dir / "other.vmdk"));

  auto fails = [&](const std::string& bad, const std::string& why) {
    const std::string message = error_text([&] { ops::parse_journal(bad, journal.file, false); });
    CHECK_THAT(message, Catch::Contains(".base.vmdk.vmdkit-consolidate") && Catch::Contains(why));
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const std::size_t at = t.find(from);
    REQUIRE(at != std::string::npos);
    return t.replace(at, from.size(), to);
  };
  fails("{\"version\": 1,", "not valid JSON");
  fails("[]", "not a JSON object");
  fails(replaced("\"version\": 1", "\"version\": 2"), "unknown version");
  fails(replaced("\"stage\": \"switch\"", "\"stage\": \"later\""), "unknown stage");
  fails(replaced("\"ancestor_cid\": \"00000055\"", "\"ancestor_cid\": \"xyz\""), "not a CID");
  fails(replaced("\"ancestor\": \"base.vmdk\"", "\"ancestor\": 5"), "not a string");
  fails(replaced("\"ancestor\": \"base.vmdk\"", "\"ancestor\": \"../base.vmdk\""),
        "leaves the journal's folder");
  fails(replaced("\"ancestor\": \"base.vmdk\"", "\"ancestor\": \"/etc/base.vmdk\""),
        "leaves the journal's folder");
  fails(replaced("\"ancestor\": \"base.vmdk\"", "\"ancestor\": \"base-000001.vmdk\""), "lists the ancestor");
  fails(replaced("\"new_ancestor_cid\": \"abcdef01\"", "\"new_ancestor_cid\": \"abcdef02\""),
        "new ancestor CID");
  fails(replaced("\"relinks\": [", "\"relinkz\": ["), "\"relinks\" is missing");
  CHECK_NOTHROW(ops::parse_journal(replaced("\"ancestor\": \"base.vmdk\"", "\"ancestor\": \"../base.vmdk\""),
                                   journal.file, true));
}

TEST_CASE("a merge over several map windows and read batches, with zero-only batches, keeps the content") {
  // 96 MiB: three 32 MiB map windows, each cut into several 4 MiB read batches that reader threads
  // read ahead of the writes; the zeroed stretch at 70 MiB is a batch that needs no read.
  TempDir dir;
  CreateOptions create_options;
  create_options.capacity = 96 * kMiB;
  create_options.seed = 1;
  create(dir / "base.vmdk", create_options);
  fill(dir / "base.vmdk", 0, 40 * kMiB, 0x11);
  fill(dir / "base.vmdk", 64 * kMiB, 8 * kMiB, 0x12);
  SnapshotOptions snap;
  snap.seed = 2;
  snap.zeroed_grains = true;
  const fs::path mid = snapshot(dir / "base.vmdk", snap).path;
  for (std::uint64_t at = 0; at < 96 * kMiB; at += 3 * kMiB) fill(mid, at + 128 * 1024, 5 * kGrain, 0x22);
  snap.seed = 3;
  const fs::path top = snapshot(mid, snap).path;
  fill(top, 30 * kMiB, 6 * kMiB, 0x33);  // across the first window's end
  zero(top, 70 * kMiB, kMiB);            // over base data, far from any written grain
  for (std::uint64_t at = 80 * kMiB; at < 96 * kMiB; at += 512 * 1024) fill(top, at, 100, 0x44);
  const auto want = content(top);
  ConsolidateOptions options;
  options.seed = 4;
  ConsolidateReport report = consolidate(top, options);
  CHECK(report.done);
  CHECK(report.plan.zero_grains == 16);
  CHECK_FALSE(fs::exists(top));
  CHECK_FALSE(fs::exists(mid));
  CHECK(content(dir / "base.vmdk") == want);
}
