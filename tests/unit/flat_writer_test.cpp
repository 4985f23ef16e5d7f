// The flat extent writer (vmdk-format.md 1.6): bytes in place, zero 4 KiB pieces left as holes,
// final size set by finish(), read back through the flat extent reader.
#include "extent/flat/flat_writer.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <utility>

#include "extent/flat/flat_extent.hpp"
#include "support/kdmv_builder.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using vmdk::test::pattern_bytes;

namespace {

// Records every write so a test can see which ranges were skipped.
class RecordingSink final : public ByteSink {
 public:
  void write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    writes.emplace_back(offset, data.size());
    inner.write_at(offset, data);
  }
  void flush() override { ++flushes; }
  void resize(std::uint64_t size) override { inner.resize(size); }
  bool random_access() const override { return true; }
  const std::string& name() const override { return inner.name(); }

  MemoryFile inner{"flat.vmdk"};
  std::vector<std::pair<std::uint64_t, std::uint64_t>> writes;
  int flushes = 0;
};

}  // namespace

TEST_CASE("flat writer stores data in place and skips zero pieces") {
  const std::uint64_t size = (1u << 20) + 512;
  auto sink = std::make_shared<RecordingSink>();
  auto writer = flat::make_flat_writer(sink, size);
  CHECK(writer->size() == size);
  std::vector<std::uint8_t> model(size, 0);
  auto put = [&](std::uint64_t at, std::vector<std::uint8_t> data) {
    writer->write(at, data);
    std::copy(data.begin(), data.end(), model.begin() + static_cast<std::ptrdiff_t>(at));
  };
  put(100, pattern_bytes(5000, 1));
  // 8 KiB zeros then 4 KiB data, at a 4 KiB boundary: the zeros are not written.
  std::vector<std::uint8_t> mixed(12288, 0);
  std::fill(mixed.begin() + 8192, mixed.end(), std::uint8_t{7});
  put(16384, mixed);
  put(size - 700, pattern_bytes(700, 2));
  writer->finish();
  CHECK(writer->file_bytes() == size);
  CHECK(sink->inner.size() == size);
  CHECK(sink->inner.data() == model);
  CHECK(sink->flushes == 1);
  for (auto [at, len] : sink->writes) {
    INFO(at << " " << len);
    CHECK_FALSE((at < 16384 + 8192 && at + len > 16384));
  }
  REQUIRE(sink->writes.size() == 3);
  CHECK(sink->writes[1] == std::pair<std::uint64_t, std::uint64_t>{16384 + 8192, 4096});

  std::shared_ptr<const ByteSource> source(sink, &sink->inner);
  auto extent = flat::open_flat_extent(source, 0, size);
  std::vector<std::uint8_t> back(size, 0xee);
  extent->read(0, back);
  CHECK(back == model);
}

TEST_CASE("flat writer refuses backwards and out-of-range writes") {
  auto file = std::make_shared<MemoryFile>("flat.vmdk");
  auto writer = flat::make_flat_writer(file, 8192);
  std::vector<std::uint8_t> data(100, 1);
  writer->write(1000, data);
  CHECK_THROWS_AS(writer->write(1050, data), UsageError);
  CHECK_THROWS_AS(writer->write(8100, data), UsageError);
  CHECK_NOTHROW(writer->write(8092, data));
  writer->finish();
  CHECK(file->size() == 8192);
  CHECK_THROWS_AS(writer->write(8192, {}), UsageError);
  CHECK_THROWS_AS(flat::make_flat_writer(nullptr, 1), UsageError);
}

TEST_CASE("an all-zero flat file stays a hole on disk") {
  vmdk_test::TempDir dir("vmdkit-flatw");
  auto path = dir / "f.vmdk";
  const std::uint64_t size = 16u << 20;
  {
    std::shared_ptr<File> file = File::open(path, File::Mode::create_exclusive);
    auto writer = flat::make_flat_writer(file, size);
    std::vector<std::uint8_t> zeros(1u << 20, 0);
    for (std::uint64_t at = 0; at < size; at += zeros.size()) writer->write(at, zeros);
    writer->finish();
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(static_cast<std::uint64_t>(st.st_size) == size);
  // File systems without holes would show 16 MiB of blocks; every common one keeps it empty.
  CHECK(static_cast<std::uint64_t>(st.st_blocks) * 512 < (1u << 20));
}
