// streamOptimized writer, layout A (vmdk-format.md 3.4, 3.6): round trips through the reader, the
// exact sector map of the 3.4 example, determinism across thread counts, level 0 stored blocks,
// sequential sinks, errors, and (when the tools exist) qemu-img, libvmdk and stream_layout.py.
#include "extent/stream/stream_writer.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "extent/sparse/open_sparse.hpp"
#include "extent/stream/stream_writer_pipeline.hpp"
#include "format/endian.hpp"
#include "format/grain_directory.hpp"
#include "format/marker.hpp"
#include "format/sparse_header.hpp"
#include "format/zlib_codec.hpp"
#include "support/file_contents.hpp"
#include "support/kdmv_builder.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/error.hpp"

namespace fs = std::filesystem;
using namespace vmdk;
using vmdk::stream::make_stream_writer;
using vmdk::stream::StreamWriterParams;
using vmdk::test::pattern_bytes;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::string descriptor_for(std::uint64_t capacity_bytes, const std::string& name = "disk.vmdk") {
  return "# Disk "
         "DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\n\n"
         "# Extent description\nRW " +
         std::to_string(capacity_bytes / 512) + " SPARSE \"" + name +
         "\"\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\nddb.virtualHWVersion = \"4\"\n";
}

StreamWriterParams params_for(std::uint64_t capacity, std::uint64_t grain = 65536, unsigned threads = 2,
                              int level = 6) {
  StreamWriterParams p;
  p.capacity_bytes = capacity;
  p.grain_bytes = grain;
  p.descriptor = descriptor_for(capacity);
  p.compress_level = level;
  p.threads = threads;
  return p;
}

// A raw image plus the ranges written into it (the rest stays zero and is never passed to the writer).
struct Image {
  Bytes raw;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> writes;  // offset, length; ascending
  void put(std::uint64_t offset, const Bytes& data) {
    std::copy(data.begin(), data.end(), raw.begin() + static_cast<std::ptrdiff_t>(offset));
    writes.emplace_back(offset, data.size());
  }
};

// Streams an image: each write range is passed in pieces of at most `chunk` bytes.
Bytes write_stream(const Image& image, const StreamWriterParams& params, std::size_t chunk = 4u << 20) {
  auto sink = std::make_shared<MemoryFile>("disk.vmdk");
  auto writer = make_stream_writer(sink, params);
  REQUIRE(writer->size() == params.capacity_bytes);
  for (auto [offset, length] : image.writes) {
    for (std::uint64_t at = 0; at < length; at += chunk) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, length - at));
      writer->write(offset + at, std::span<const std::uint8_t>(image.raw).subspan(
                                     static_cast<std::size_t>(offset + at), n));
    }
  }
  writer->finish();
  REQUIRE(writer->file_bytes() == sink->data().size());
  return sink->data();
}

// Streams a whole raw image front to back in `chunk` pieces, zeros included.
Bytes write_whole(const Bytes& raw, const StreamWriterParams& params, std::size_t chunk = 4u << 20) {
  Image image{raw, {{0, raw.size()}}};
  return write_stream(image, params, chunk);
}

Bytes read_back(const Bytes& file, std::uint64_t capacity) {
  std::shared_ptr<const ByteSource> source = std::make_shared<MemoryFile>("disk.vmdk", file);
  auto extent = sparse::open_sparse_extent(source, capacity);
  Bytes out(capacity, 0xee);
  extent->read(0, out);
  return out;
}

format::SparseHeader header_at(const Bytes& file, std::uint64_t sector) {
  return format::decode_sparse_header(std::span<const std::uint8_t>(file).subspan(sector * 512, 512));
}

format::Marker marker_at(const Bytes& file, std::uint64_t sector) {
  return format::decode_marker(std::span<const std::uint8_t>(file).subspan(sector * 512, 512));
}

std::uint32_t u32_at(const Bytes& file, std::uint64_t sector, std::size_t index) {
  return format::load_le32(file, static_cast<std::size_t>(sector * 512 + index * 4));
}

Bytes filled(std::size_t size, std::uint8_t value) {
  return Bytes(size, value);
}

// A sink that accepts only appends, like standard output: proves every byte is written once, in order.
class AppendOnlySink final : public ByteSink {
 public:
  explicit AppendOnlySink(std::uint64_t fail_after = ~0ull) : fail_after_(fail_after) {}
  void write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (offset != bytes.size()) throw IoError(name_, "write at " + hex(offset) + " is not an append");
    if (bytes.size() + data.size() > fail_after_) throw IoError(name_, "no space left on device");
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  void flush() override { ++flushes; }
  void resize(std::uint64_t) override { throw IoError(name_, "cannot resize a stream"); }
  bool random_access() const override { return false; }
  const std::string& name() const override { return name_; }
  Bytes bytes;
  int flushes = 0;

 private:
  std::uint64_t fail_after_;
  std::string name_ = "stdout";
};

bool have_tools() {
  return std::system("command -v qemu-img >/dev/null 2>&1") == 0 &&
         std::system("/usr/bin/python3 -c 'import pyvmdk' >/dev/null 2>&1") == 0;
}

fs::path layout_checker() {
  return fs::path(__FILE__).parent_path().parent_path() / "support" / "stream_layout.py";
}

void save(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

using vmdk_test::read_file;

int run(const std::string& command) {
  INFO(command);
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("stream writer round-trips patterns, zero grains, empty tables and a partial last grain") {
  // 4 KiB grains: a table covers 2 MiB, so several tables stay small. Capacity is not a grain multiple.
  const std::uint64_t capacity = (9u << 20) + 3 * 512;
  Image image{Bytes(capacity, 0), {}};
  image.put(1000, pattern_bytes(5000, 1));             // unaligned, two grains of table 0
  image.put(70000, filled(4096 * 3, 0));               // explicit zeros: not stored
  image.put((2u << 20) - 100, pattern_bytes(300, 2));  // spans the table 0 / table 1 boundary
  // table 2 (4..6 MiB) left empty between tables 1 and 3
  image.put(6u << 20, pattern_bytes(2u << 20, 3));   // table 3 full
  image.put(capacity - 700, pattern_bytes(700, 4));  // into the partial last grain of table 4
  for (std::size_t chunk : {std::size_t{4} << 20, std::size_t{777777}, std::size_t{4096}, std::size_t{333}}) {
    INFO("chunk " << chunk);
    auto file = write_stream(image, params_for(capacity, 4096, 2), chunk);
    REQUIRE(read_back(file, capacity) == image.raw);
    auto footer = header_at(file, file.size() / 512 - 2);
    REQUIRE(footer.gd_offset != format::kGdAtEnd);
    CHECK(u32_at(file, footer.gd_offset, 0) != 0);
    CHECK(u32_at(file, footer.gd_offset, 1) != 0);
    CHECK(u32_at(file, footer.gd_offset, 2) == 0);  // the empty table is omitted
    CHECK(u32_at(file, footer.gd_offset, 3) != 0);
    CHECK(u32_at(file, footer.gd_offset, 4) != 0);
  }
  // The same content written whole (zeros included) gives the same file.
  CHECK(write_whole(image.raw, params_for(capacity, 4096, 2), 1u << 20) ==
        write_stream(image, params_for(capacity, 4096, 2)));
}

TEST_CASE("stream writer handles every grain size and a 1-grain disk") {
  for (std::uint64_t grain : {4096ull, 65536ull, 1ull << 20}) {
    INFO("grain " << grain);
    const std::uint64_t capacity = grain * 3 + 1024;
    Image image{Bytes(capacity, 0), {}};
    image.put(grain / 2, pattern_bytes(static_cast<std::size_t>(grain), 9));
    image.put(capacity - 512, filled(512, 0x77));
    auto file = write_stream(image, params_for(capacity, grain, 1));
    CHECK(read_back(file, capacity) == image.raw);
    CHECK(header_at(file, 0).overhead == grain / 512);  // roundUp(1 + 1 descriptor sector, grain)
  }
  SECTION("one grain") {
    auto raw = pattern_bytes(65536, 5);
    auto file = write_whole(raw, params_for(65536));
    CHECK(read_back(file, 65536) == raw);
  }
  SECTION("one sector, smaller than its grain") {
    Bytes raw(512, 0x42);
    auto file = write_whole(raw, params_for(512));
    CHECK(header_at(file, 0).capacity == 1);
    CHECK(read_back(file, 512) == raw);
  }
}

TEST_CASE("stream writer: an empty disk has only metadata and a zero directory") {
  const std::uint64_t capacity = 100u << 20;  // 4 tables of 64 KiB grains
  auto sink = std::make_shared<MemoryFile>("disk.vmdk");
  auto writer = make_stream_writer(sink, params_for(capacity));
  writer->finish();
  const Bytes& file = sink->data();
  // header, descriptor, pad to 128, GD marker, GD (1 sector), footer marker, footer, EOS.
  REQUIRE(file.size() == (128 + 5) * 512);
  CHECK(marker_at(file, 128) == format::Marker{1, 0, 2});
  for (std::size_t i = 0; i < 4; ++i) CHECK(u32_at(file, 129, i) == 0);
  CHECK(marker_at(file, 130) == format::Marker{1, 0, 3});
  CHECK(header_at(file, 131).gd_offset == 129);
  CHECK(std::all_of(file.end() - 512, file.end(), [](std::uint8_t b) { return b == 0; }));
  std::shared_ptr<const ByteSource> source = std::make_shared<MemoryFile>("disk.vmdk", file);
  auto extent = sparse::open_sparse_extent(source, capacity);
  std::vector<Run> runs;
  extent->map(0, capacity, runs);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].state == BlockState::unallocated);
  CHECK(runs[0].length == capacity);
}

TEST_CASE("stream writer sizes the descriptor area to the text and a NUL") {
  for (auto [text_bytes, sectors] :
       {std::pair<std::size_t, std::uint64_t>{0, 1}, {511, 1}, {512, 2}, {1500, 3}}) {
    INFO("text " << text_bytes);
    auto params = params_for(1u << 20);
    params.descriptor = std::string(text_bytes, '#');
    auto sink = std::make_shared<MemoryFile>("disk.vmdk");
    make_stream_writer(sink, params)->finish();
    auto header = header_at(sink->data(), 0);
    CHECK(header.descriptor_size == sectors);
    CHECK(header.overhead == 128);
    CHECK(sink->data()[512 + text_bytes] == 0);
  }
}

TEST_CASE("stream writer reproduces the sector map of the 3.4 example") {
  // 10 MiB, grains 0, 3 and 80 (filled, so each record is one sector where the example's grain 3
  // took three): records at 128, 129, 130; GT marker 131, GT 132-135, GD marker 136, GD 137,
  // footer marker 138, footer 139, EOS 140.
  const std::uint64_t capacity = 10u << 20;
  Image image{Bytes(capacity, 0), {}};
  image.put(0, filled(65536, 0x5a));
  image.put(3 * 65536, filled(65536, 0x33));
  image.put(80 * 65536, filled(65536, 0x80));
  auto params = params_for(capacity);
  params.descriptor = descriptor_for(capacity).substr(0, 400);  // one sector
  auto file = write_stream(image, params);
  REQUIRE(file.size() == 141 * 512);

  auto header = header_at(file, 0);
  CHECK(header.magic == format::kSparseMagic);
  CHECK(header.version == 3);
  CHECK(header.flags == 0x30001);
  CHECK(header.capacity == 20480);
  CHECK(header.grain_size == 128);
  CHECK(header.descriptor_offset == 1);
  CHECK(header.descriptor_size == 1);
  CHECK(header.num_gtes_per_gt == 512);
  CHECK(header.rgd_offset == 0);
  CHECK(header.gd_offset == format::kGdAtEnd);
  CHECK(header.overhead == 128);
  CHECK(header.compress_algorithm == 1);
  const auto text_end = file.begin() + 512 + static_cast<std::ptrdiff_t>(params.descriptor.size());
  CHECK(std::string(file.begin() + 512, text_end) == params.descriptor);
  CHECK(std::all_of(text_end, file.begin() + 128 * 512, [](std::uint8_t b) { return b == 0; }));

  CHECK(marker_at(file, 128).value == 0);
  CHECK(marker_at(file, 129).value == 384);
  CHECK(marker_at(file, 130).value == 10240);
  for (std::uint64_t s : {128ull, 129ull, 130ull}) {
    auto m = marker_at(file, s);
    CHECK(m.size > 0);
    CHECK(m.size + 12 <= 512);
    CHECK(file[s * 512 + 12] == 0x78);
    CHECK(file[s * 512 + 13] == 0x9c);
  }
  CHECK(marker_at(file, 131) == format::Marker{4, 0, 1});
  CHECK(u32_at(file, 132, 0) == 128);
  CHECK(u32_at(file, 132, 3) == 129);
  CHECK(u32_at(file, 132, 80) == 130);
  int nonzero = 0;
  for (std::size_t i = 0; i < 512; ++i) nonzero += u32_at(file, 132, i) != 0;
  CHECK(nonzero == 3);
  CHECK(marker_at(file, 136) == format::Marker{1, 0, 2});
  CHECK(u32_at(file, 137, 0) == 132);
  CHECK(marker_at(file, 138) == format::Marker{1, 0, 3});
  auto footer = header_at(file, 139);
  auto expected = header;
  expected.gd_offset = 137;
  CHECK(footer == expected);
  CHECK(std::all_of(file.begin() + 140 * 512, file.end(), [](std::uint8_t b) { return b == 0; }));
  CHECK(read_back(file, capacity) == image.raw);
}

TEST_CASE("stream writer output does not depend on the thread count or write sizes") {
  for (std::uint64_t grain : {4096ull, 65536ull}) {
    INFO("grain " << grain);
    const std::uint64_t capacity = 12u << 20;  // 6 tables of 4 KiB grains; 3 batches of 64 KiB grains
    Bytes raw(capacity, 0);
    auto data = pattern_bytes(3u << 20, 11);
    std::copy(data.begin(), data.end(), raw.begin() + (1u << 20));
    std::fill(raw.begin() + (6u << 20), raw.begin() + (9u << 20), std::uint8_t{0x61});
    for (std::size_t i = 0; i < raw.size(); i += 4099) raw[i] = static_cast<std::uint8_t>(i >> 12);
    auto one = write_whole(raw, params_for(capacity, grain, 1));
    auto four = write_whole(raw, params_for(capacity, grain, 4), 1000003);
    REQUIRE(one == four);
    REQUIRE(one == write_whole(raw, params_for(capacity, grain, 0), 65536));  // 0 = one per core
    REQUIRE(read_back(one, capacity) == raw);
  }
}

TEST_CASE("stream writer level 0 stores grains that inflate and start 78 01") {
  const std::uint64_t capacity = 1u << 20;
  auto raw = pattern_bytes(capacity, 21);
  auto file = write_whole(raw, params_for(capacity, 65536, 2, 0));
  auto header = header_at(file, 0);
  for (std::uint64_t g = 0; g < 16; ++g) {
    const std::uint64_t sector = header.overhead + g * 129;  // 65 552 bytes + 12 -> 129 sectors (3.2)
    auto marker = marker_at(file, sector);
    REQUIRE(marker.value == g * 128);
    REQUIRE(marker.size == 65552);
    auto data = std::span<const std::uint8_t>(file).subspan(sector * 512 + 12, marker.size);
    CHECK(data[0] == 0x78);
    CHECK(data[1] == 0x01);
    Bytes grain(65536);
    REQUIRE(format::inflate_grain(data, grain).ok());
    CHECK(std::equal(grain.begin(), grain.end(), raw.begin() + static_cast<std::ptrdiff_t>(g * 65536)));
  }
  CHECK(read_back(file, capacity) == raw);
}

TEST_CASE("stream writer writes a sequential sink once, in order") {
  const std::uint64_t capacity = 8u << 20;
  auto raw = pattern_bytes(capacity, 31);
  std::fill(raw.begin() + (2u << 20), raw.begin() + (5u << 20), std::uint8_t{0});
  auto sink = std::make_shared<AppendOnlySink>();
  auto writer = make_stream_writer(sink, params_for(capacity, 65536, 3));
  for (std::uint64_t at = 0; at < capacity; at += 1u << 20) {
    writer->write(at, std::span<const std::uint8_t>(raw).subspan(static_cast<std::size_t>(at), 1u << 20));
  }
  writer->finish();
  CHECK(sink->flushes == 1);
  CHECK(writer->file_bytes() == sink->bytes.size());
  CHECK(sink->bytes == write_whole(raw, params_for(capacity, 65536, 1)));
  CHECK(read_back(sink->bytes, capacity) == raw);
}

TEST_CASE("stream writer refuses bad parameters") {
  auto sink = std::make_shared<MemoryFile>("disk.vmdk");
  auto bad = [&](auto change) {
    auto p = params_for(1u << 20);
    change(p);
    return make_stream_writer(sink, p);
  };
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.capacity_bytes = 0; }), UsageError);
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.capacity_bytes = 1000; }), UsageError);
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.capacity_bytes = 1ull << 63; }), UsageError);
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.grain_bytes = 3000; }), UsageError);
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.grain_bytes = 2048; }), UsageError);
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.grain_bytes = 2u << 20; }), UsageError);
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.compress_level = -1; }), UsageError);
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.compress_level = 10; }), UsageError);
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.threads = 100000; }), UsageError);
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.descriptor = std::string("a\0b", 3); }), UsageError);
  CHECK_THROWS_AS(bad([](StreamWriterParams& p) { p.descriptor = std::string(20481 * 512, 'x'); }),
                  UsageError);
  CHECK_THROWS_AS(make_stream_writer(nullptr, params_for(1u << 20)), UsageError);
  CHECK(sink->data().empty());
}

TEST_CASE("stream writer refuses writes that go backwards, past the end or after finish") {
  auto sink = std::make_shared<MemoryFile>("disk.vmdk");
  auto writer = make_stream_writer(sink, params_for(1u << 20));
  Bytes data(1000, 1);
  writer->write(5000, data);
  CHECK_THROWS_AS(writer->write(5999, data), UsageError);
  CHECK_THROWS_AS(writer->write(0, data), UsageError);
  CHECK_THROWS_AS(writer->write((1u << 20) - 999, data), UsageError);
  writer->write(6000, data);  // still usable after refused calls
  writer->write(1u << 20, {});
  writer->finish();
  CHECK_THROWS_AS(writer->write(1u << 20, {}), UsageError);
  CHECK_THROWS_AS(writer->finish(), UsageError);
  Bytes expected(1u << 20, 0);
  std::fill(expected.begin() + 5000, expected.begin() + 7000, std::uint8_t{1});
  CHECK(read_back(sink->data(), 1u << 20) == expected);
}

TEST_CASE("stream writer carries sink errors to the caller and joins on destruction") {
  const std::uint64_t capacity = 16u << 20;
  auto raw = pattern_bytes(capacity, 41);
  SECTION("error while writing grains") {
    auto sink = std::make_shared<AppendOnlySink>(300000);
    auto writer = make_stream_writer(sink, params_for(capacity, 65536, 2));
    CHECK_THROWS_AS(
        [&] {
          for (std::uint64_t at = 0; at < capacity; at += 1u << 20) {
            writer->write(at,
                          std::span<const std::uint8_t>(raw).subspan(static_cast<std::size_t>(at), 1u << 20));
          }
          writer->finish();
        }(),
        IoError);
    CHECK_THROWS_AS(writer->finish(), UsageError);  // broken for good
  }
  SECTION("error while writing the header") {
    auto sink = std::make_shared<AppendOnlySink>(100);
    CHECK_THROWS_AS(make_stream_writer(sink, params_for(capacity)), IoError);
  }
  SECTION("destroyed with batches in flight, never finished") {
    auto sink = std::make_shared<AppendOnlySink>();
    auto writer = make_stream_writer(sink, params_for(capacity, 65536, 4));
    writer->write(0, std::span<const std::uint8_t>(raw).subspan(0, 12u << 20));
    writer.reset();
    SUCCEED("joined");
  }
}

TEST_CASE("compression workers carry their exceptions to the owner") {
  stream::CompressPipeline pipeline(2, 6, 65536, 4);
  auto batch = pipeline.acquire();
  batch->grain_count = pipeline.grains_per_batch() + 1;  // does not fit its buffers
  pipeline.submit(std::move(batch));
  CHECK_THROWS_AS(pipeline.take_oldest(), UsageError);
  CHECK(pipeline.empty());
}

TEST_CASE("stream writer output reads the same in qemu-img and libvmdk and passes the layout check") {
  if (!have_tools()) {
    WARN("skipped: qemu-img or /usr/bin/python3 with pyvmdk is missing");
    return;
  }
  vmdk_test::TempDir dir("vmdkit-streamw");
  const std::uint64_t capacity = (33u << 20) + 4096;  // two tables, a partial last grain
  Image image{Bytes(capacity, 0), {}};
  image.put(12345, pattern_bytes(1u << 20, 51));
  image.put((32u << 20) - 7, pattern_bytes(70000, 52));
  image.put(capacity - 1000, filled(1000, 0xfe));
  auto params = params_for(capacity, 65536, 2);
  auto file = write_stream(image, params, 1u << 20);
  save(dir / "disk.vmdk", file);
  save(dir / "raw.img", image.raw);

  const std::string vmdk = (dir / "disk.vmdk").string();
  REQUIRE(run("qemu-img convert -f vmdk -O raw '" + vmdk + "' '" + (dir / "qemu.raw").string() + "'") == 0);
  CHECK(read_file(dir / "qemu.raw") == image.raw);
  CHECK(run("qemu-img check -f vmdk '" + vmdk + "' >/dev/null 2>&1") == 0);

  const std::string pyread =
      "import pyvmdk,sys\nh=pyvmdk.handle()\nh.open(sys.argv[1])\nh.open_extent_data_files()\n"
      "n=h.get_media_size()\nopen(sys.argv[2],'wb').write(h.read_buffer_at_offset(n,0))\n";
  std::ofstream(dir / "read.py") << pyread;
  REQUIRE(run("cd '" + dir.path.string() + "' && /usr/bin/python3 read.py disk.vmdk libvmdk.raw") == 0);
  CHECK(read_file(dir / "libvmdk.raw") == image.raw);

  const std::string checker = "/usr/bin/python3 '" + layout_checker().string() + "' ";
  CHECK(run(checker + "'" + vmdk + "' --raw '" + (dir / "raw.img").string() + "'") == 0);

  // The checker notices damage: a GT entry, a byte after EOS, a grain that differs from the raw file.
  auto footer = header_at(file, file.size() / 512 - 2);
  auto damaged = file;
  format::store_le32(damaged, static_cast<std::size_t>(u32_at(file, footer.gd_offset, 0) * 512 + 8), 7);
  save(dir / "bad1.vmdk", damaged);
  CHECK(run(checker + "'" + (dir / "bad1.vmdk").string() + "' >/dev/null") == 1);
  damaged = file;
  damaged.push_back(0);
  save(dir / "bad2.vmdk", damaged);
  CHECK(run(checker + "'" + (dir / "bad2.vmdk").string() + "' >/dev/null") == 1);
  auto other = image.raw;
  other[20000] ^= 1;
  save(dir / "other.img", other);
  CHECK(run(checker + "'" + vmdk + "' --raw '" + (dir / "other.img").string() + "' >/dev/null") == 1);
}

TEST_CASE("stream writer throughput, 256 MiB", "[.bench]") {
  const std::size_t total = 256u << 20;
  const std::size_t chunk = 4u << 20;
  // Semi-compressible chunk (text-like with noise), varied per chunk so grains differ.
  Bytes base = pattern_bytes(chunk, 61);
  for (std::size_t i = 0; i < base.size(); ++i) {
    if (i % 3 != 0) base[i] = static_cast<std::uint8_t>("vmdk grain table sector "[i % 24]);
  }
  class NullSink final : public ByteSink {
   public:
    void write_at(std::uint64_t, std::span<const std::uint8_t> data) override { bytes += data.size(); }
    void flush() override {}
    void resize(std::uint64_t) override {}
    bool random_access() const override { return false; }
    const std::string& name() const override { return name_; }
    std::uint64_t bytes = 0;
    std::string name_ = "null";
  };
  for (unsigned threads : {1u, 2u}) {
    auto sink = std::make_shared<NullSink>();
    auto writer = make_stream_writer(sink, params_for(total, 65536, threads));
    Bytes data = base;
    auto start = std::chrono::steady_clock::now();
    for (std::size_t at = 0; at < total; at += chunk) {
      data[at / chunk % data.size()] ^= 0x5a;
      writer->write(at, data);
    }
    writer->finish();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("threads %u: %.0f MB/s, output %.1f%% of input\n", threads,
                static_cast<double>(total) / seconds / 1e6,
                100.0 * static_cast<double>(sink->bytes) / static_cast<double>(total));
  }
}
