// Write side of ESXi SESparse deltas (vmdk-format.md 4.3, 5.1, 6.6): the layout of a new extent
// against the one ESXi logged, seSparse snapshots, the updater's entry encoding and bookkeeping,
// and copy-on-write through two deltas checked against an in-memory model.
#include "extent/sesparse/sesparse_writer.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "extent/sesparse/sesparse_updater.hpp"
#include "format/endian.hpp"
#include "format/sesparse_entry.hpp"
#include "support/model_writes.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/create.hpp"
#include "vmdk/disk_type.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/write.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using vmdk_test::read_chain;
using vmdk_test::write_both;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kCapacity = 40ull << 20;  // three grain tables of 16 MiB

std::uint64_t u64_at(const fs::path& path, std::uint64_t offset) {
  auto file = File::open(path);
  std::vector<std::uint8_t> bytes(8);
  read_exact(*file, offset, bytes, "u64");
  return format::load_le64(bytes, 0);
}

void make_extent(const fs::path& path, std::uint64_t capacity) {
  auto file = std::shared_ptr<File>(File::open(path, File::Mode::create_truncate));
  auto writer = sesparse::make_sesparse_writer(file, capacity);
  std::vector<std::uint8_t> zeros(4096, 0);
  writer->write(0, zeros);
  std::vector<std::uint8_t> data(512, 1);
  CHECK_THROWS_AS(writer->write(4096, data), UnsupportedError);
  writer->finish();
}

}  // namespace

TEST_CASE("a new SESparse header has the layout ESXi logged for a 100 MiB disk") {
  // vmdk-format.md 4.3.1: the values hostd logged for a 204800-sector disk.
  const format::SesparseHeader h = sesparse::new_sesparse_header(204800ull * 512);
  CHECK(h.magic == format::kSesparseMagic);
  CHECK(h.version == format::kSesparseVersion);
  CHECK(h.capacity == 204800);
  CHECK(h.grain_size == 8);
  CHECK(h.grain_table_size == 64);
  CHECK(h.flags == 0);
  CHECK((h.volatile_header_offset == 1 && h.volatile_header_size == 1));
  CHECK((h.journal_header_offset == 2 && h.journal_header_size == 2));
  CHECK((h.journal_offset == 2048 && h.journal_size == 2048));
  CHECK((h.grain_dir_offset == 4096 && h.grain_dir_size == 2048));
  CHECK((h.grain_tables_offset == 6144 && h.grain_tables_size == 2048));
  CHECK((h.free_bitmap_offset == 8192 && h.free_bitmap_size == 2048));
  CHECK((h.backmap_offset == 10240 && h.backmap_size == 2048));
  CHECK((h.grains_offset == 12288 && h.grains_size == 204800));

  // A disk too big for 1 MiB regions gets larger ones, each still on a 1 MiB boundary.
  const format::SesparseHeader big = sesparse::new_sesparse_header(1ull << 40);  // 1 TiB
  CHECK(big.grain_tables_size == (1ull << 40) / (16 << 20) * 64);
  CHECK(big.backmap_size == (1ull << 40) / 4096 * 8 / 512);
  CHECK(big.grains_offset % 2048 == 0);
  CHECK(big.grains_size == (1ull << 40) / 512);
  CHECK_THROWS_AS(sesparse::new_sesparse_header((1ull << 46) + 512), UsageError);
  CHECK_THROWS_AS(sesparse::new_sesparse_header(1000), UsageError);
}

TEST_CASE("seSparse snapshots take ESXi names, and the default for a vmfs parent is seSparse") {
  vmdk_test::TempDir dir("sesparse-writer");
  CreateOptions options;
  options.type = DiskType::vmfs;
  options.capacity = kCapacity;
  create(dir / "base.vmdk", options);
  SnapshotReport report = snapshot(dir / "base.vmdk");
  CHECK(report.type == "seSparse");
  REQUIRE(report.files.size() == 2);
  CHECK(fs::path(report.files[1]).filename() == "base-000001-sesparse.vmdk");
  std::ifstream in(dir / "base-000001.vmdk");
  std::ostringstream text;
  text << in.rdbuf();
  CHECK_THAT(text.str(), Catch::Contains("createType=\"seSparse\""));
  CHECK_THAT(text.str(), Catch::Contains("RW 81920 SESPARSE \"base-000001-sesparse.vmdk\"\n"));
  // The file ends where the grains begin; the metadata regions are holes.
  const fs::path extent = dir / "base-000001-sesparse.vmdk";
  CHECK(fs::file_size(extent) == 12288 * 512);
  CHECK(u64_at(extent, 512) == format::kSesparseVolatileMagic);
  CHECK(u64_at(extent, 1024) == sesparse::kJournalHeaderMagic);
  CHECK(snapshot(report.path).type == "seSparse");
  CHECK_THROWS_AS(create(dir / "x.vmdk",
                         [] {
                           CreateOptions o;
                           o.type = DiskType::se_sparse;
                           o.capacity = kCapacity;
                           return o;
                         }()),
                  UsageError);
}

TEST_CASE("the SESparse updater encodes entries, frees replaced grains and appends past the file") {
  vmdk_test::TempDir dir("sesparse-writer");
  const fs::path path = dir / "x-sesparse.vmdk";
  make_extent(path, kCapacity);
  const format::SesparseHeader h = sesparse::new_sesparse_header(kCapacity);
  const std::uint64_t gd = h.grain_dir_offset * 512, gt = h.grain_tables_offset * 512;
  const std::uint64_t bitmap = h.free_bitmap_offset * 512, backmap = h.backmap_offset * 512;
  const std::uint64_t grains = h.grains_offset * 512;

  auto file = std::shared_ptr<File>(File::open(path, File::Mode::read_write));
  auto updater = sesparse::open_sesparse_updater(file, kCapacity);
  CHECK(updater->grain_bytes() == 4096);
  CHECK(updater->zeroed_grains());
  std::vector<std::uint8_t> a(4096, 0xaa), b(4096, 0xbb);
  updater->stage_grain(4097, a);                  // table of directory entry 1
  updater->stage_zeroed(5);                       // table of directory entry 0
  CHECK_FALSE(updater->grain_host_offset(4097));  // staged, not yet visible
  CHECK_THROWS_AS(updater->stage_grain(kCapacity / 4096, a), UsageError);
  updater->commit();
  CHECK(updater->grain_host_offset(4097) == std::optional<std::uint64_t>(grains));
  // Tables are taken in staging order of their directory entries' first grain: entry 1 got
  // table 0, entry 0 table 1.
  CHECK(u64_at(path, gd + 8) == format::sesparse_gd_entry(0));
  CHECK(u64_at(path, gd) == format::sesparse_gd_entry(1));
  CHECK(u64_at(path, gt + 1 * 8) == format::sesparse_allocated_entry(0));
  CHECK(u64_at(path, gt + 32768 + 5 * 8) == format::kSesparseZeroEntry);
  CHECK(u64_at(path, h.volatile_header_offset * 512 + 8) == 2);  // free_gt_number
  CHECK(u64_at(path, bitmap) == 1);
  CHECK(u64_at(path, backmap) == format::sesparse_backmap_entry(4097));

  // Redirect-on-write: the new copy takes slot 1, slot 0 is freed in the bitmap and backmap.
  updater->stage_grain(4097, b);
  updater->commit();
  CHECK(updater->grain_host_offset(4097) == std::optional<std::uint64_t>(grains + 4096));
  CHECK(u64_at(path, bitmap) == 2);
  CHECK(u64_at(path, backmap) == 0);
  CHECK(u64_at(path, backmap + 8) == format::sesparse_backmap_entry(4097));

  // A kill before the bookkeeping leaves a stale bitmap: a new updater appends past the file.
  std::array<std::uint8_t, 8> stale{};
  file->write_at(bitmap, stale);
  auto again = sesparse::open_sesparse_updater(file, kCapacity);
  again->stage_grain(3, a);
  again->commit();
  CHECK(again->grain_host_offset(3) == std::optional<std::uint64_t>(grains + 2 * 4096));
  CHECK(again->grain_host_offset(4097) == std::optional<std::uint64_t>(grains + 4096));
  CHECK(u64_at(path, gt + 32768 + 3 * 8) == format::sesparse_allocated_entry(2));
}

TEST_CASE("the SESparse updater refuses a journal to replay and writes nothing") {
  vmdk_test::TempDir dir("sesparse-writer");
  const fs::path path = dir / "x-sesparse.vmdk";
  make_extent(path, kCapacity);
  {
    auto file = File::open(path, File::Mode::read_write);
    std::array<std::uint8_t, 8> one{1};
    file->write_at(512 + format::sesparse_volatile_field("replay_journal").offset, one);
  }
  const auto size = fs::file_size(path);
  auto file = std::shared_ptr<File>(File::open(path, File::Mode::read_write));
  CHECK_THROWS_AS(sesparse::open_sesparse_updater(file, kCapacity), UnsupportedError);
  CHECK(fs::file_size(path) == size);
}

TEST_CASE("unaligned writes through two seSparse deltas read back like the model") {
  vmdk_test::TempDir dir("sesparse-writer");
  // A capacity that ends inside a grain: the last grain is partly past the disk.
  const std::uint64_t capacity = kCapacity + 1536;
  CreateOptions options;
  options.type = DiskType::vmfs;
  options.capacity = capacity;
  create(dir / "base.vmdk", options);
  std::vector<std::uint8_t> model(capacity, 0);
  write_both(dir / "base.vmdk", model, 1000, 300000, 0x11);
  fs::path leaf = snapshot(dir / "base.vmdk").path;
  write_both(leaf, model, 1001, 10, 0x22);                   // inside one grain
  write_both(leaf, model, (16ull << 20) - 777, 1500, 0x44);  // across the 16 MiB table boundary
  write_both(leaf, model, capacity - 100, 100, 0x55);        // the partial last grain
  CHECK(read_chain(leaf) == model);
  leaf = snapshot(leaf).path;
  write_both(leaf, model, 1003, 2, 0x66);                        // over a grain of the first delta
  write_both(leaf, model, (4ull << 20) + 1, 30ull << 20, 0x77);  // across three tables
  write_both(leaf, model, 6000, 1, 0x00);                        // zeros hide the data below
  WriteData zero;
  zero.kind = WriteData::Kind::zero;
  zero.length = 8192;
  write(leaf, 40960, zero);  // whole grains: zero-grain entries over the base's data
  std::fill_n(model.begin() + 40960, 8192, std::uint8_t{0});
  CHECK(read_chain(leaf) == model);
}
