// In-place updates of hosted sparse (KDMV) extents (vmdk-format.md 2.5, 2.6, 2.8): staged grains
// stay invisible until commit, redirect-on-write, both table copies, new tables for GD entries of 0.
#include "extent/sparse/sparse_updater.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>

#include "extent/sparse/open_sparse.hpp"
#include "extent/sparse/sparse_writer.hpp"
#include "format/endian.hpp"
#include "format/sparse_header.hpp"
#include "support/error_text.hpp"
#include "support/kdmv_builder.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using vmdk::test::KdmvBuilder;
using vmdk::test::KdmvKind;
using vmdk::test::pattern_bytes;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kGrain = 65536;

bool have_qemu_img() {
  return std::system("command -v qemu-img >/dev/null 2>&1") == 0;
}

bool qemu_check(const fs::path& path) {
  return std::system(("qemu-img check -f vmdk '" + path.string() + "' >/dev/null 2>&1").c_str()) == 0;
}

// A monolithicSparse descriptor (QEMU refuses a KDMV file without one).
std::string descriptor_for(std::uint64_t capacity, const std::string& name) {
  return "# Disk "
         "DescriptorFile\nversion=1\nCID=1234abcd\nparentCID=ffffffff\ncreateType=\"monolithicSparse\"\n\n"
         "# Extent description\nRW " +
         std::to_string(capacity / 512) + " SPARSE \"" + name +
         "\"\n\n"
         "# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\nddb.adapterType = \"ide\"\n";
}

std::vector<std::uint8_t> file_bytes(const fs::path& path) {
  auto file = File::open(path);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(file->size()));
  read_exact(*file, 0, bytes, "test file");
  return bytes;
}

void save(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  auto file = File::open(path, File::Mode::create_truncate);
  file->write_at(0, bytes);
}

// A disk made by our writer: `grains` maps grain index -> fill byte.
std::vector<std::uint8_t> make_disk(const fs::path& path, std::uint64_t capacity,
                                    const std::map<std::uint64_t, std::uint8_t>& grains,
                                    bool zeroed = false) {
  std::vector<std::uint8_t> model(static_cast<std::size_t>(capacity), 0);
  std::shared_ptr<File> file = File::open(path, File::Mode::create_exclusive);
  sparse::SparseWriterParams params;
  params.capacity_bytes = capacity;
  params.zeroed_grains = zeroed;
  params.descriptor = descriptor_for(capacity, path.filename().string());
  auto writer = sparse::make_sparse_writer(file, params);
  for (auto [index, byte] : grains) {
    std::vector<std::uint8_t> data(kGrain, byte);
    writer->write(index * kGrain, data);
    std::fill_n(model.begin() + static_cast<std::ptrdiff_t>(index * kGrain), kGrain, byte);
  }
  writer->finish();
  return model;
}

std::unique_ptr<Extent> open_reader(const fs::path& path, std::uint64_t size) {
  std::shared_ptr<const ByteSource> file = File::open(path);
  return sparse::open_sparse_extent(file, size);
}

std::vector<std::uint8_t> read_disk(const fs::path& path, std::uint64_t size) {
  auto extent = open_reader(path, size);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(size), 0xee);
  extent->read(0, out);
  return out;
}

void stage(sparse::SparseUpdater& u, std::vector<std::uint8_t>& model, std::uint64_t index,
           const std::vector<std::uint8_t>& data) {
  u.stage_grain(index, data);
  const std::uint64_t start = index * u.grain_bytes();
  const std::uint64_t n = std::min<std::uint64_t>(u.grain_bytes(), model.size() - start);
  std::copy_n(data.begin(), n, model.begin() + static_cast<std::ptrdiff_t>(start));
}

// Every primary table equals its redundant copy, byte for byte.
void check_copies_equal(const fs::path& path) {
  auto bytes = file_bytes(path);
  auto h = format::decode_sparse_header(std::span<const std::uint8_t>(bytes).subspan(0, 512));
  REQUIRE((h.flags & format::kFlagRedundantGd) != 0);
  const std::uint64_t tables =
      (h.capacity + h.grain_size * h.num_gtes_per_gt - 1) / (h.grain_size * h.num_gtes_per_gt);
  const std::uint64_t gt_bytes = h.num_gtes_per_gt * 4;
  for (std::uint64_t t = 0; t < tables; ++t) {
    std::uint64_t gt = format::load_le32(bytes, h.gd_offset * 512 + t * 4);
    std::uint64_t rgt = format::load_le32(bytes, h.rgd_offset * 512 + t * 4);
    INFO("table " << t);
    REQUIRE(gt != 0);
    REQUIRE(rgt != 0);
    CHECK(gt != rgt);
    CHECK(std::equal(bytes.begin() + static_cast<std::ptrdiff_t>(gt * 512),
                     bytes.begin() + static_cast<std::ptrdiff_t>(gt * 512 + gt_bytes),
                     bytes.begin() + static_cast<std::ptrdiff_t>(rgt * 512)));
  }
}

}  // namespace

TEST_CASE("staged grains are invisible until commit, then read in both table copies") {
  vmdk_test::TempDir dir("vmdkit-sparseu");
  const auto path = dir / "d.vmdk";
  const std::uint64_t capacity = (70u << 20) + 3 * 512;  // 3 tables, short last grain
  auto model = make_disk(path, capacity, {{0, 0x11}, {1, 0x22}, {600, 0x33}});
  auto before = model;
  const std::uint64_t old_host = open_reader(path, capacity)->block_status(0, kGrain).host_offset;
  const std::uint64_t size_before = fs::file_size(path);

  auto updater = sparse::SparseUpdater::open(File::open(path, File::Mode::read_write));
  CHECK(updater->grain_bytes() == kGrain);
  CHECK(updater->capacity_bytes() == capacity);
  CHECK_FALSE(updater->zeroed_grains());
  const std::uint64_t last = (capacity + kGrain - 1) / kGrain - 1;
  stage(*updater, model, 0, pattern_bytes(kGrain, 1));
  stage(*updater, model, 0, pattern_bytes(kGrain, 2));  // restaged: same staged copy
  stage(*updater, model, 700, pattern_bytes(kGrain, 3));
  stage(*updater, model, last, pattern_bytes(kGrain, 4));
  CHECK(updater->staged() == 3);
  CHECK(fs::file_size(path) == size_before + 3 * kGrain);
  // A fresh reader still sees the old disk.
  CHECK(read_disk(path, capacity) == before);

  updater->commit();
  CHECK(updater->staged() == 0);
  CHECK(read_disk(path, capacity) == model);
  check_copies_equal(path);
  // Redirect-on-write: grain 0 moved, its old copy is untouched (a leak).
  auto extent = open_reader(path, capacity);
  CHECK(extent->block_status(0, kGrain).host_offset != old_host);
  CHECK(extent->block_status(0, kGrain).host_offset % kGrain == 0);
  auto bytes = file_bytes(path);
  CHECK(std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(old_host),
                    bytes.begin() + static_cast<std::ptrdiff_t>(old_host + kGrain),
                    [](std::uint8_t b) { return b == 0x11; }));
  // Committing nothing does nothing.
  updater->commit();
  CHECK(fs::file_size(path) == size_before + 3 * kGrain);

  // A second round on the same updater sees the first round's entries.
  stage(*updater, model, 1, pattern_bytes(kGrain, 5));
  updater->stage_unallocated(600);
  std::fill_n(model.begin() + 600 * kGrain, kGrain, std::uint8_t{0});
  updater->commit();
  CHECK(read_disk(path, capacity) == model);
  CHECK(open_reader(path, capacity)->block_status(600 * kGrain, kGrain).state == BlockState::unallocated);
  check_copies_equal(path);
  if (have_qemu_img()) CHECK(qemu_check(path));
}

TEST_CASE("grains the extent holds are found and overwritten in place") {
  vmdk_test::TempDir dir("vmdkit-sparseu");
  const auto path = dir / "d.vmdk";
  const std::uint64_t capacity = 40u << 20;
  auto model = make_disk(path, capacity, {{3, 0x11}, {520, 0x22}});
  const std::uint64_t host3 = open_reader(path, capacity)->block_status(3 * kGrain, kGrain).host_offset;
  const std::uint64_t size_before = fs::file_size(path);

  auto updater = sparse::SparseUpdater::open(File::open(path, File::Mode::read_write));
  CHECK(updater->grain_host_offset(3) == host3);
  CHECK(updater->grain_host_offset(4) == std::nullopt);   // unallocated
  CHECK(updater->grain_host_offset(600) == std::nullopt);  // no table
  auto data = pattern_bytes(kGrain, 9);
  updater->overwrite_grain(3, data);
  std::copy(data.begin(), data.end(), model.begin() + 3 * kGrain);
  updater->flush();
  CHECK(fs::file_size(path) == size_before);  // in place: nothing appended
  CHECK(read_disk(path, capacity) == model);
  CHECK_THROWS_AS(updater->overwrite_grain(4, data), UsageError);
  CHECK_THROWS_AS(updater->overwrite_grain(3, pattern_bytes(512, 1)), UsageError);
  // After a commit moves grain 520, its new place is reported.
  stage(*updater, model, 520, pattern_bytes(kGrain, 7));
  updater->commit();
  CHECK(updater->grain_host_offset(520) == open_reader(path, capacity)->block_status(520 * kGrain, kGrain).host_offset);
}

TEST_CASE("zeroed-grain entries read as zeros") {
  vmdk_test::TempDir dir("vmdkit-sparseu");
  const auto path = dir / "z.vmdk";
  const std::uint64_t capacity = 4u << 20;
  auto model = make_disk(path, capacity, {{1, 0x44}, {2, 0x55}}, true);
  auto updater = sparse::SparseUpdater::open(File::open(path, File::Mode::read_write));
  REQUIRE(updater->zeroed_grains());
  updater->stage_zeroed(1);
  updater->stage_zeroed(10);
  updater->commit();
  std::fill_n(model.begin() + kGrain, kGrain, std::uint8_t{0});
  CHECK(read_disk(path, capacity) == model);
  auto extent = open_reader(path, capacity);
  CHECK(extent->block_status(kGrain, kGrain).state == BlockState::zero);
  CHECK(extent->block_status(10 * kGrain, kGrain).state == BlockState::zero);
  check_copies_equal(path);
  if (have_qemu_img()) CHECK(qemu_check(path));

  const auto plain = dir / "p.vmdk";
  make_disk(plain, capacity, {});
  auto other = sparse::SparseUpdater::open(File::open(plain, File::Mode::read_write));
  CHECK_THROWS_AS(other->stage_zeroed(0), UsageError);
}

TEST_CASE("directory entries of 0 get new tables, content first") {
  vmdk_test::TempDir dir("vmdkit-sparseu");
  const std::uint64_t capacity_sectors = 3 * 65536;  // 3 tables
  const std::uint64_t capacity = capacity_sectors * 512;
  for (bool redundant : {true, false}) {
    INFO("redundant " << redundant);
    auto image = KdmvBuilder(capacity_sectors)
                     .descriptor(descriptor_for(capacity, redundant ? "r.vmdk" : "n.vmdk"))
                     .redundant(redundant)
                     .fill_grain(5, 0x66)
                     .build();
    for (std::uint64_t t : {1u, 2u}) {
      image.poke(image.gde_offset(t), 4, 0);
      if (redundant) image.poke(image.rgd_sector * 512 + t * 4, 4, 0);
    }
    const auto path = dir / (redundant ? "r.vmdk" : "n.vmdk");
    save(path, image.bytes);
    std::vector<std::uint8_t> model(capacity, 0);
    std::fill_n(model.begin() + 5 * kGrain, kGrain, std::uint8_t{0x66});

    auto updater = sparse::SparseUpdater::open(File::open(path, File::Mode::read_write));
    stage(*updater, model, 512 + 7, pattern_bytes(kGrain, 7));
    stage(*updater, model, 1024 + 511, pattern_bytes(kGrain, 8));
    stage(*updater, model, 6, pattern_bytes(kGrain, 9));
    updater->commit();
    CHECK(read_disk(path, capacity) == model);
    auto bytes = file_bytes(path);
    for (std::uint64_t t : {1u, 2u}) {
      std::uint64_t gt = format::load_le32(bytes, image.gde_offset(t));
      CHECK(gt * 512 >= image.header.overhead * 512);
      if (redundant) CHECK(format::load_le32(bytes, image.rgd_sector * 512 + t * 4) != 0);
    }
    if (redundant) check_copies_equal(path);
    // Grains staged after new tables stay grain-aligned.
    stage(*updater, model, 1024 + 3, pattern_bytes(kGrain, 10));
    updater->commit();
    CHECK(read_disk(path, capacity) == model);
    CHECK(open_reader(path, capacity)->block_status((1024 + 3) * kGrain, kGrain).host_offset % kGrain == 0);
    if (have_qemu_img()) CHECK(qemu_check(path));
  }
}

TEST_CASE("a 64 MiB commit over several tables") {
  vmdk_test::TempDir dir("vmdkit-sparseu");
  const auto path = dir / "big.vmdk";
  const std::uint64_t capacity = 128u << 20;
  auto model = make_disk(path, capacity, {{3, 1}});
  auto updater = sparse::SparseUpdater::open(File::open(path, File::Mode::read_write));
  for (std::uint64_t g = 256; g < 256 + 1024; ++g) {
    stage(*updater, model, g, pattern_bytes(kGrain, static_cast<std::uint32_t>(g)));
  }
  updater->commit();
  CHECK(read_disk(path, capacity) == model);
  check_copies_equal(path);
}

TEST_CASE("a disk made by qemu-img takes updates that qemu-img reads back") {
  if (!have_qemu_img()) {
    WARN("qemu-img not installed: skipped");
    return;
  }
  vmdk_test::TempDir dir("vmdkit-sparseu");
  const auto path = dir / "q.vmdk";
  const std::uint64_t capacity = 100u << 20;
  REQUIRE(std::system(("qemu-img create -f vmdk '" + path.string() + "' 100M >/dev/null 2>&1").c_str()) == 0);
  std::vector<std::uint8_t> model(capacity, 0);
  auto updater = sparse::SparseUpdater::open(File::open(path, File::Mode::read_write));
  stage(*updater, model, 0, pattern_bytes(kGrain, 1));
  stage(*updater, model, 513, pattern_bytes(kGrain, 2));
  stage(*updater, model, 1599, pattern_bytes(kGrain, 3));
  updater->commit();
  CHECK(read_disk(path, capacity) == model);
  check_copies_equal(path);
  CHECK(qemu_check(path));
  const auto raw = dir / "q.raw";
  REQUIRE(std::system(
              ("qemu-img convert -f vmdk -O raw '" + path.string() + "' '" + raw.string() + "'").c_str()) ==
          0);
  CHECK(file_bytes(raw) == model);
}

TEST_CASE("bad calls are usage errors") {
  vmdk_test::TempDir dir("vmdkit-sparseu");
  const auto path = dir / "u.vmdk";
  make_disk(path, (1u << 20) + 512, {});
  auto updater = sparse::SparseUpdater::open(File::open(path, File::Mode::read_write));
  std::vector<std::uint8_t> grain(kGrain, 1);
  CHECK_NOTHROW(updater->stage_grain(16, grain));  // the short last grain
  CHECK_THROWS_AS(updater->stage_grain(17, grain), UsageError);
  CHECK_THROWS_AS(updater->stage_unallocated(17), UsageError);
  CHECK_THROWS_AS(updater->stage_grain(0, std::vector<std::uint8_t>(kGrain - 1)), UsageError);
  CHECK_THROWS_AS(sparse::SparseUpdater::open(nullptr), UsageError);
}

TEST_CASE("damaged or unsupported files are refused") {
  vmdk_test::TempDir dir("vmdkit-sparseu");
  auto open_image = [&](const std::vector<std::uint8_t>& bytes, const std::string& name) {
    const auto path = dir / name;
    save(path, bytes);
    return [path] { sparse::SparseUpdater::open(File::open(path, File::Mode::read_write)); };
  };
  auto good = KdmvBuilder(3 * 65536).fill_grain(2, 0x12).build();

  auto stream = KdmvBuilder(20480, KdmvKind::stream_footer).fill_grain(0, 1).build();
  CHECK_THROWS_AS(open_image(stream.bytes, "s.vmdk")(), UnsupportedError);
  CHECK(vmdk_test::error_text(open_image(stream.bytes, "s2.vmdk")).find("s2.vmdk") != std::string::npos);
  auto qemu_stream = KdmvBuilder(20480, KdmvKind::stream_qemu).fill_grain(0, 1).build();
  CHECK_THROWS_AS(open_image(qemu_stream.bytes, "q.vmdk")(), UnsupportedError);

  auto bad_magic = good;
  bad_magic.poke(0, 4, 0x12345678);
  CHECK_THROWS_AS(open_image(bad_magic.bytes, "m.vmdk")(), FormatError);

  auto gd_past_end = good;
  gd_past_end.poke(gd_past_end.gde_offset(1), 4, 0x100000);
  CHECK_THROWS_AS(open_image(gd_past_end.bytes, "g.vmdk")(), FormatError);

  auto rgd_half = good;
  rgd_half.poke(rgd_half.rgd_sector * 512 + 4, 4, 0);
  auto message = vmdk_test::error_text(open_image(rgd_half.bytes, "r.vmdk"));
  CHECK(message.find("redundant grain directory entry 1") != std::string::npos);

  auto rgd_past_end = good;
  rgd_past_end.poke(rgd_past_end.rgd_sector * 512 + 8, 4, 0x100000);
  CHECK_THROWS_AS(open_image(rgd_past_end.bytes, "r2.vmdk")(), FormatError);

  // A damaged grain table entry is found when its table is updated.
  auto gte_past_end = good;
  gte_past_end.poke(gte_past_end.gte_offset(3), 4, 0x100000);
  const auto path = dir / "t.vmdk";
  save(path, gte_past_end.bytes);
  auto updater = sparse::SparseUpdater::open(File::open(path, File::Mode::read_write));
  updater->stage_grain(4, std::vector<std::uint8_t>(kGrain, 9));
  message = vmdk_test::error_text([&] { updater->commit(); });
  CHECK(message.find("grain table 0 entry 3") != std::string::npos);
}
