// Write side of ESXi disks (vmdk-format.md 4.1, 4.2, 5.1, 6.6): create --type vmfs/vmfsThin,
// vmfsSparse (COWD) snapshots and copy-on-write through them, checked against an in-memory model.
#include "extent/cowd/cowd_writer.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "extent/cowd/cowd_updater.hpp"
#include "format/cowd_header.hpp"
#include "support/error_text.hpp"
#include "support/model_writes.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/create.hpp"
#include "vmdk/disk_type.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using vmdk_test::read_chain;
using vmdk_test::write_both;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kCapacity = 8ull << 20;  // 4 grain tables of 2 MiB

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

format::CowdHeader cowd_header(const fs::path& path) {
  auto file = File::open(path);
  std::vector<std::uint8_t> bytes(format::kCowdHeaderSize);
  read_exact(*file, 0, bytes, "header");
  return format::decode_cowd_header(bytes);
}

}  // namespace

TEST_CASE("create --type vmfs and vmfsThin write ESXi descriptors and a zero flat file") {
  vmdk_test::TempDir dir("cowd-writer");
  for (DiskType type : {DiskType::vmfs, DiskType::vmfs_thin}) {
    const std::string name = type == DiskType::vmfs ? "thick" : "thin";
    CreateOptions options;
    options.type = type;
    options.capacity = kCapacity;
    options.seed = 7;
    CreateReport report = create(dir / (name + ".vmdk"), options);
    CHECK(report.type == "vmfs");
    REQUIRE(report.files.size() == 2);
    CHECK(fs::path(report.files[1]).filename() == name + "-flat.vmdk");
    CHECK(fs::file_size(dir / (name + "-flat.vmdk")) == kCapacity);
    const std::string text = read_text(dir / (name + ".vmdk"));
    CHECK_THAT(text, Catch::Contains("createType=\"vmfs\""));
    CHECK_THAT(text, Catch::Contains("RW 16384 VMFS \"" + name + "-flat.vmdk\"\n"));
    CHECK_THAT(text, Catch::Contains("ddb.adapterType = \"lsilogic\""));
    CHECK((text.find("ddb.thinProvisioned = \"1\"") != std::string::npos) == (type == DiskType::vmfs_thin));
    auto bytes = read_chain(dir / (name + ".vmdk"));
    CHECK(std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; }));
  }
  CHECK(parse_disk_type("vmfsthin") == DiskType::vmfs_thin);
  CHECK_THROWS_AS(parse_disk_type("vmfsSparse"), UsageError);
}

TEST_CASE("vmfsSparse snapshots take ESXi names and an empty COWD header") {
  vmdk_test::TempDir dir("cowd-writer");
  CreateOptions options;
  options.type = DiskType::vmfs;
  options.capacity = kCapacity;
  create(dir / "base.vmdk", options);
  SnapshotOptions first;
  first.delta_format = DeltaFormat::vmfs_sparse;
  SnapshotReport report = snapshot(dir / "base.vmdk", first);
  CHECK(report.type == "vmfsSparse");
  CHECK(fs::path(report.path).filename() == "base-000001.vmdk");
  REQUIRE(report.files.size() == 2);
  CHECK(fs::path(report.files[1]).filename() == "base-000001-delta.vmdk");
  const std::string text = read_text(dir / "base-000001.vmdk");
  CHECK_THAT(text, Catch::Contains("createType=\"vmfsSparse\""));
  CHECK_THAT(text, Catch::Contains("parentFileNameHint=\"base.vmdk\""));
  CHECK_THAT(text, Catch::Contains("RW 16384 VMFSSPARSE \"base-000001-delta.vmdk\"\n"));
  const format::CowdHeader h = cowd_header(dir / "base-000001-delta.vmdk");
  CHECK(h.magic == format::kCowdMagic);
  CHECK(h.version == 1);
  CHECK(h.flags == 3);
  CHECK(h.num_sectors == 16384);
  CHECK(h.grain_size == 1);
  CHECK(h.gd_offset == 4);
  CHECK(h.num_gd_entries == 4);
  CHECK(h.free_sector == 5);
  CHECK(fs::file_size(dir / "base-000001-delta.vmdk") == 5 * 512);

  // The second snapshot sits on the first, with the next number, and keeps the chain's kind.
  SnapshotReport second = snapshot(dir / "base-000001.vmdk");
  CHECK(fs::path(second.path).filename() == "base-000002.vmdk");
  CHECK(second.type == "vmfsSparse");
}

TEST_CASE("delta formats a vmfs parent offers and refuses") {
  vmdk_test::TempDir dir("cowd-writer");
  CreateOptions options;
  options.type = DiskType::vmfs;
  options.capacity = kCapacity;
  create(dir / "base.vmdk", options);
  SnapshotOptions snap;
  CHECK(parse_delta_format("SESPARSE") == DeltaFormat::se_sparse);
  CHECK_THROWS_AS(parse_delta_format("cowd"), UsageError);
  snap.delta_format = DeltaFormat::vmfs_sparse;
  snap.zeroed_grains = true;  // COWD has no zeroed-grain entry
  CHECK_THROWS_AS(snapshot(dir / "base.vmdk", snap), UsageError);
  snap.delta_format = DeltaFormat::automatic;  // zeroed grains pick a hosted delta
  CHECK(snapshot(dir / "base.vmdk", snap).type == "monolithicSparse");
  snap.zeroed_grains = false;
  snap.force = true;                        // a second child of the same base
  snap.delta_format = DeltaFormat::sparse;  // a hosted delta on an ESXi base stays possible
  CHECK(snapshot(dir / "base.vmdk", snap).type == "monolithicSparse");
}

TEST_CASE("unaligned writes through two vmfsSparse deltas read back like the model") {
  vmdk_test::TempDir dir("cowd-writer");
  CreateOptions options;
  options.type = DiskType::vmfs;
  options.capacity = kCapacity;
  create(dir / "base.vmdk", options);
  std::vector<std::uint8_t> model(kCapacity, 0);
  write_both(dir / "base.vmdk", model, 1000, 300000, 0x11);
  SnapshotOptions cowd;
  cowd.delta_format = DeltaFormat::vmfs_sparse;
  fs::path leaf = snapshot(dir / "base.vmdk", cowd).path;
  // Inside one sector, across sectors, across the 2 MiB table boundary, at the very end.
  write_both(leaf, model, 1001, 10, 0x22);
  write_both(leaf, model, 5000, 3000, 0x33);
  write_both(leaf, model, (2ull << 20) - 777, 1500, 0x44);
  write_both(leaf, model, kCapacity - 100, 100, 0x55);
  CHECK(read_chain(leaf) == model);
  // The parent did not change.
  std::vector<std::uint8_t> base_model(kCapacity, 0);
  std::fill_n(base_model.begin() + 1000, 300000, std::uint8_t{0x11});
  CHECK(read_chain(dir / "base.vmdk") == base_model);

  const format::CowdHeader h = cowd_header(fs::path(leaf).replace_filename("base-000001-delta.vmdk"));
  CHECK(std::uint64_t{h.free_sector} * 512 ==
        fs::file_size(fs::path(leaf).replace_filename("base-000001-delta.vmdk")));

  leaf = snapshot(leaf).path;  // automatic: vmfsSparse under a vmfsSparse parent
  write_both(leaf, model, 1003, 2, 0x66);                            // over a grain of the first delta
  write_both(leaf, model, (4ull << 20) + 1, 5ull << 20 >> 1, 0x77);  // across two tables
  write_both(leaf, model, 6000, 1, 0x00);                            // zeros hide the data below
  CHECK(read_chain(leaf) == model);
}

TEST_CASE("the COWD updater publishes grains only at commit and appends past a stale freeSector") {
  vmdk_test::TempDir dir("cowd-writer");
  const fs::path path = dir / "x-delta.vmdk";
  {
    auto file = std::shared_ptr<File>(File::open(path, File::Mode::create_truncate));
    auto writer = cowd::make_cowd_writer(file, kCapacity);
    std::vector<std::uint8_t> zeros(4096, 0);
    writer->write(0, zeros);
    std::vector<std::uint8_t> data(512, 1);
    CHECK_THROWS_AS(writer->write(4096, data), UnsupportedError);
    writer->finish();
  }
  auto file = std::shared_ptr<File>(File::open(path, File::Mode::read_write));
  auto updater = cowd::open_cowd_updater(file, kCapacity);
  CHECK(updater->grain_bytes() == 512);
  CHECK_FALSE(updater->zeroed_grains());
  std::vector<std::uint8_t> grain(512, 0xab);
  updater->stage_grain(4097, grain);
  CHECK_FALSE(updater->grain_host_offset(4097));  // staged, not yet visible
  CHECK_THROWS_AS(updater->stage_zeroed(1), UsageError);
  CHECK_THROWS_AS(updater->stage_grain(kCapacity / 512, grain), UsageError);
  updater->commit();
  // Table of range 1 at sector 5 (32 sectors), then the grain at 37.
  CHECK(updater->grain_host_offset(4097) == std::optional<std::uint64_t>(37 * 512));
  CHECK(cowd_header(path).free_sector == 38);

  // A kill after the entries but before freeSector: a new updater must not reuse live sectors.
  std::array<std::uint8_t, 4> stale{5, 0, 0, 0};
  file->write_at(format::cowd_header_field("free_sector").offset, stale);
  auto again = cowd::open_cowd_updater(file, kCapacity);
  again->stage_grain(4098, grain);
  again->commit();
  CHECK(again->grain_host_offset(4098) == std::optional<std::uint64_t>(38 * 512));
  CHECK(again->grain_host_offset(4097) == std::optional<std::uint64_t>(37 * 512));
}
