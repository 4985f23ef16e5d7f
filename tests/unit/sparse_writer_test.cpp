// The hosted sparse (KDMV) writer (vmdk-format.md 2.7, 8.2): golden bytes, round trips through
// the reader (partial grains, unaligned writes, several tables, zero grains), limits, qemu-img check.
#include "extent/sparse/sparse_writer.hpp"

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>

#include "extent/sparse/open_sparse.hpp"
#include "format/endian.hpp"
#include "format/sparse_header.hpp"
#include "support/error_text.hpp"
#include "support/kdmv_builder.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using vmdk::test::pattern_bytes;

namespace {

constexpr std::uint64_t kGrain = 65536;

// A random-access sink that keeps nothing: lets a test push terabytes of grains through the writer.
class NullSink final : public ByteSink {
 public:
  void write_at(std::uint64_t, std::span<const std::uint8_t>) override {}
  void flush() override {}
  void resize(std::uint64_t) override {}
  bool random_access() const override { return true; }
  const std::string& name() const override { return name_; }

 private:
  std::string name_ = "null.vmdk";
};

class SequentialSink final : public ByteSink {
 public:
  void write_at(std::uint64_t, std::span<const std::uint8_t>) override {}
  void flush() override {}
  void resize(std::uint64_t) override {}
  bool random_access() const override { return false; }
  const std::string& name() const override { return name_; }

 private:
  std::string name_ = "pipe";
};

// Writes `writes` (ascending) through a new writer into memory and returns the file.
struct Written {
  std::shared_ptr<MemoryFile> file;
  std::vector<std::uint8_t> model;  // what the disk must read as
  std::uint64_t file_bytes = 0;
};

struct Piece {
  std::uint64_t offset;
  std::vector<std::uint8_t> data;
};

Written write_all(const sparse::SparseWriterParams& params, const std::vector<Piece>& pieces) {
  Written w;
  w.file = std::make_shared<MemoryFile>("w.vmdk");
  w.model.assign(static_cast<std::size_t>(params.capacity_bytes), 0);
  auto writer = sparse::make_sparse_writer(w.file, params);
  REQUIRE(writer->size() == params.capacity_bytes);
  for (const Piece& p : pieces) {
    writer->write(p.offset, p.data);
    std::copy(p.data.begin(), p.data.end(), w.model.begin() + static_cast<std::ptrdiff_t>(p.offset));
  }
  writer->finish();
  w.file_bytes = writer->file_bytes();
  return w;
}

// Reads everything back with the reader and checks bytes, block status per grain, and that grains
// lie in ascending order right after overHead.
void check_round_trip(const sparse::SparseWriterParams& params, const Written& w) {
  REQUIRE(w.file->size() == w.file_bytes);
  auto extent = sparse::open_sparse_extent(w.file, params.capacity_bytes);
  std::vector<std::uint8_t> back(w.model.size(), 0xee);
  extent->read(0, back);
  REQUIRE(back == w.model);

  auto header = format::decode_sparse_header(std::span<const std::uint8_t>(w.file->data()).subspan(0, 512));
  std::uint64_t next_host = header.overhead * 512;
  std::uint64_t stored = 0;
  for (std::uint64_t g = 0; g * params.grain_bytes < params.capacity_bytes; ++g) {
    const std::uint64_t start = g * params.grain_bytes;
    const std::uint64_t len = std::min(params.grain_bytes, params.capacity_bytes - start);
    bool zero = std::all_of(w.model.begin() + static_cast<std::ptrdiff_t>(start),
                            w.model.begin() + static_cast<std::ptrdiff_t>(start + len),
                            [](std::uint8_t b) { return b == 0; });
    Run r = extent->block_status(start, len);
    INFO("grain " << g);
    if (zero) {
      CHECK(r.state == BlockState::unallocated);
    } else {
      CHECK(r.state == BlockState::data);
      CHECK(r.host_offset == next_host);
      next_host += params.grain_bytes;
      ++stored;
    }
  }
  CHECK(w.file->size() == header.overhead * 512 + stored * params.grain_bytes);
}

bool have_qemu_img() {
  return std::system("command -v qemu-img >/dev/null 2>&1") == 0;
}

}  // namespace

TEST_CASE("an empty 16 MiB disk matches the golden bytes of 8.2") {
  sparse::SparseWriterParams params;
  params.capacity_bytes = 16u << 20;
  params.descriptor = "# Disk DescriptorFile\nversion=1\n";
  auto w = write_all(params, {});
  const auto& bytes = w.file->data();
  REQUIRE(bytes.size() == 65536);
  const std::array<std::uint8_t, 79> golden{
      0x4b, 0x44, 0x4d, 0x56, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
      0x15, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x20, 0x0d, 0x0a, 0x00, 0x00};
  CHECK(std::equal(golden.begin(), golden.end(), bytes.begin()));
  CHECK(std::all_of(bytes.begin() + 79, bytes.begin() + 512, [](std::uint8_t b) { return b == 0; }));
  // RGD at sector 21 points to the RGT at 22; GD at 26 points to the GT at 27; one entry each.
  CHECK(format::load_le32(bytes, 21 * 512) == 0x16);
  CHECK(format::load_le32(bytes, 21 * 512 + 4) == 0);
  CHECK(format::load_le32(bytes, 26 * 512) == 0x1b);
  CHECK(format::load_le32(bytes, 26 * 512 + 4) == 0);
  // Descriptor at sector 1, NUL padded to 20 sectors.
  CHECK(std::equal(params.descriptor.begin(), params.descriptor.end(), bytes.begin() + 512));
  CHECK(std::all_of(bytes.begin() + 512 + static_cast<std::ptrdiff_t>(params.descriptor.size()),
                    bytes.begin() + 21 * 512, [](std::uint8_t b) { return b == 0; }));
  CHECK(sparse::read_embedded_descriptor(*w.file) == params.descriptor);

  // One grain adds exactly 64 KiB, at overHead.
  auto one = write_all(params, {{kGrain * 3, std::vector<std::uint8_t>(kGrain, 0x5a)}});
  CHECK(one.file->size() == 2 * 65536);
  CHECK(format::load_le32(one.file->data(), 27 * 512 + 3 * 4) == 128);
  CHECK(format::load_le32(one.file->data(), 22 * 512 + 3 * 4) == 128);
}

TEST_CASE("partial grains, unaligned writes, several tables and zero grains round-trip") {
  sparse::SparseWriterParams params;
  // 3 tables, the last grain only 3 sectors long.
  params.capacity_bytes = (70u << 20) + 3 * 512;
  params.descriptor = "# Disk DescriptorFile\n";
  std::vector<Piece> pieces;
  // Grain 0 assembled from three calls with gaps between them.
  pieces.push_back({100, pattern_bytes(1000, 1)});
  pieces.push_back({5000, pattern_bytes(512, 2)});
  pieces.push_back({kGrain - 7, pattern_bytes(7, 3)});
  // An unaligned write spanning grains 2..4.
  pieces.push_back({2 * kGrain + 333, pattern_bytes(2 * kGrain + 1000, 4)});
  // A grain written with zeros only is not stored.
  pieces.push_back({10 * kGrain, std::vector<std::uint8_t>(kGrain, 0)});
  // A zero piece followed by data inside one grain.
  pieces.push_back({11 * kGrain, std::vector<std::uint8_t>(4096, 0)});
  pieces.push_back({11 * kGrain + 4096, pattern_bytes(10, 5)});
  // A big aligned write crossing the first table boundary (32 MiB) with a zero grain inside.
  auto big = pattern_bytes(4u << 20, 6);
  std::fill(big.begin() + kGrain * 5, big.begin() + kGrain * 6, std::uint8_t{0});
  pieces.push_back({(30u << 20), big});
  // The last, short grain and the end of the second-last.
  pieces.push_back({params.capacity_bytes - 3 * 512 - 100, pattern_bytes(100 + 3 * 512, 7)});
  auto w = write_all(params, pieces);
  check_round_trip(params, w);
}

TEST_CASE("small grains and small tables: many tables, random ascending writes") {
  sparse::SparseWriterParams params;
  params.capacity_bytes = 5u << 20;
  params.grain_bytes = 4096;
  params.gtes_per_gt = 128;  // 512 KiB per table, 10 tables
  params.descriptor_sectors = 0;
  params.zeroed_grains = true;
  std::mt19937_64 rng(42);
  std::vector<Piece> pieces;
  std::uint64_t at = 0;
  std::uint32_t seed = 10;
  while (true) {
    at += rng() % 20000;
    std::uint64_t len = 1 + rng() % 12000;
    if (at + len > params.capacity_bytes) break;
    auto data = rng() % 5 == 0 ? std::vector<std::uint8_t>(static_cast<std::size_t>(len), 0)
                               : pattern_bytes(static_cast<std::size_t>(len), seed++);
    pieces.push_back({at, data});
    at += len;
  }
  auto w = write_all(params, pieces);
  auto header = format::decode_sparse_header(std::span<const std::uint8_t>(w.file->data()).subspan(0, 512));
  CHECK(header.version == 2);
  CHECK(header.flags == 7);
  CHECK(header.descriptor_offset == 0);
  CHECK(header.descriptor_size == 0);
  CHECK(header.rgd_offset == 1);
  CHECK(header.num_gtes_per_gt == 128);
  CHECK(header.overhead % 8 == 0);
  check_round_trip(params, w);
  // Both table copies are equal.
  const auto& bytes = w.file->data();
  for (std::uint64_t t = 0; t < 10; ++t) {
    std::uint64_t rgt = format::load_le32(bytes, header.rgd_offset * 512 + t * 4);
    std::uint64_t gt = format::load_le32(bytes, header.gd_offset * 512 + t * 4);
    CHECK(std::equal(bytes.begin() + static_cast<std::ptrdiff_t>(rgt * 512),
                     bytes.begin() + static_cast<std::ptrdiff_t>(rgt * 512 + 512),
                     bytes.begin() + static_cast<std::ptrdiff_t>(gt * 512)));
  }
}

TEST_CASE("bad parameters and calls are usage errors") {
  auto file = std::make_shared<MemoryFile>("bad.vmdk");
  auto make = [&](auto change) {
    sparse::SparseWriterParams p;
    p.capacity_bytes = 1u << 20;
    change(p);
    return [p, file] { sparse::make_sparse_writer(file, p); };
  };
  using P = sparse::SparseWriterParams;
  CHECK_THROWS_AS(make([](P& p) { p.capacity_bytes = 0; })(), UsageError);
  CHECK_THROWS_AS(make([](P& p) { p.capacity_bytes = 1000; })(), UsageError);
  CHECK_THROWS_AS(make([](P& p) { p.grain_bytes = 3000; })(), UsageError);
  CHECK_THROWS_AS(make([](P& p) { p.grain_bytes = 2048; })(), UsageError);
  CHECK_THROWS_AS(make([](P& p) { p.grain_bytes = 2u << 20; })(), UsageError);
  CHECK_THROWS_AS(make([](P& p) { p.gtes_per_gt = 100; })(), UsageError);
  CHECK_THROWS_AS(make([](P& p) { p.gtes_per_gt = 1024; })(), UsageError);
  CHECK_THROWS_AS(make([](P& p) {
                    p.descriptor = std::string(513, 'x');
                    p.descriptor_sectors = 1;
                  })(),
                  UsageError);
  CHECK_THROWS_AS(make([](P& p) {
                    p.descriptor = "x";
                    p.descriptor_sectors = 0;
                  })(),
                  UsageError);
  CHECK_NOTHROW(make([](P& p) {
    p.descriptor = std::string(512, 'x');
    p.descriptor_sectors = 1;
  })());
  sparse::SparseWriterParams p;
  p.capacity_bytes = 1u << 20;
  CHECK_THROWS_AS(sparse::make_sparse_writer(std::make_shared<SequentialSink>(), p), UsageError);
  CHECK_THROWS_AS(sparse::make_sparse_writer(nullptr, p), UsageError);

  auto writer = sparse::make_sparse_writer(file, p);
  std::vector<std::uint8_t> data(100, 1);
  writer->write(1000, data);
  CHECK_THROWS_AS(writer->write(1099, data), UsageError);
  CHECK_NOTHROW(writer->write(1100, data));
  CHECK_THROWS_AS(writer->write((1u << 20) - 99, data), UsageError);
  auto message = vmdk_test::error_text([&] { writer->write(~0ull - 10, data); });
  CHECK(message.find("passes the extent size") != std::string::npos);
  writer->finish();
  CHECK_THROWS_AS(writer->write(1u << 19, data), UsageError);
}

TEST_CASE("grain sectors stay below 2^32") {
  // 2 TiB + 64 MiB of 1 MiB grains: the data cannot fit below sector 2^32 with the metadata.
  sparse::SparseWriterParams p;
  p.capacity_bytes = (2ull << 40) + (64u << 20);
  p.grain_bytes = 1u << 20;
  auto writer = sparse::make_sparse_writer(std::make_shared<NullSink>(), p);
  std::vector<std::uint8_t> chunk(64u << 20, 0x11);
  std::uint64_t at = 0;
  std::string message;
  for (; at + chunk.size() <= p.capacity_bytes; at += chunk.size()) {
    message = vmdk_test::error_text([&] { writer->write(at, chunk); });
    if (!message.empty()) break;
  }
  CHECK(message.find("2^32 sectors") != std::string::npos);
  CHECK(at >= (2ull << 40) - (64u << 20));
}

TEST_CASE("qemu-img check accepts a written file and reads it the same") {
  if (!have_qemu_img()) {
    WARN("qemu-img not installed: skipped");
    return;
  }
  vmdk_test::TempDir dir("vmdkit-sparsew");
  auto path = dir / "w.vmdk";
  sparse::SparseWriterParams params;
  params.capacity_bytes = (40u << 20) + 4096;  // not a grain multiple
  params.descriptor =
      "# Disk "
      "DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicSparse\"\n\n"
      "# Extent description\nRW 81928 SPARSE \"w.vmdk\"\n\n# The Disk Data Base\n#DDB\n\n"
      "ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"81\"\nddb.geometry.heads = \"16\"\n"
      "ddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\n";
  std::vector<std::uint8_t> model(static_cast<std::size_t>(params.capacity_bytes), 0);
  {
    std::shared_ptr<File> file = File::open(path, File::Mode::create_exclusive);
    auto writer = sparse::make_sparse_writer(file, params);
    auto a = pattern_bytes(3u << 20, 9);
    writer->write(1000, a);
    std::copy(a.begin(), a.end(), model.begin() + 1000);
    auto b = pattern_bytes(5000, 10);
    writer->write(params.capacity_bytes - 5000, b);
    std::copy(b.begin(), b.end(), model.end() - 5000);
    writer->finish();
  }
  REQUIRE(std::system(("qemu-img check -f vmdk '" + path.string() + "' >/dev/null 2>&1").c_str()) == 0);
  auto raw = dir / "w.raw";
  REQUIRE(std::system(
              ("qemu-img convert -f vmdk -O raw '" + path.string() + "' '" + raw.string() + "'").c_str()) ==
          0);
  auto raw_file = File::open(raw);
  REQUIRE(raw_file->size() == params.capacity_bytes);
  std::vector<std::uint8_t> theirs(model.size());
  read_exact(*raw_file, 0, theirs, "raw");
  CHECK(theirs == model);
}
