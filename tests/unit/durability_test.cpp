// Durability on request (issue 16, DESIGN.md "Durability"): a new file's writers flush where a durable
// file needs its fsyncs, and NewFileSink (libvmdk/src/ops/output/new_file_sink.hpp) passes those
// flushes on only with Durability::synced. Checked with a sink that counts flushes, through every
// writer that can write to a caller's sink (convert_to_sink: raw and streamOptimized) and through
// each random-access extent writer. tests/cli/sync.sh traces the real binary's fsyncs and renames.
#include <catch2/catch.hpp>

#include "extent/kind_table.hpp"
#include "ops/output/new_file_sink.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/convert.hpp"
#include "vmdk/create.hpp"
#include "vmdk/io.hpp"
#include "vmdk/write.hpp"

using namespace vmdk;

namespace {

// A memory sink that counts the flushes that reach it.
class FlushCountingSink final : public ByteSink {
 public:
  void write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override { file_.write_at(offset, data); }
  void flush() override { ++flushes_; }
  void resize(std::uint64_t size) override { file_.resize(size); }
  bool random_access() const override { return true; }
  const std::string& name() const override { return file_.name(); }
  int flushes() const { return flushes_; }
  const std::vector<std::uint8_t>& data() const { return file_.data(); }

 private:
  MemoryFile file_{"counted"};
  int flushes_ = 0;
};

// A 4 MiB monolithicSparse disk with 1 MiB of data at 1 MiB.
std::filesystem::path durability_source(const vmdk_test::TempDir& dir) {
  const std::filesystem::path path = dir / "source.vmdk";
  CreateOptions create_options;
  create_options.capacity = 4u << 20;
  create_options.seed = 1;
  create(path, create_options);
  WriteData data;
  data.kind = WriteData::Kind::pattern;
  data.pattern = 0x5a;
  data.length = 1u << 20;
  WriteOptions write_options;
  write_options.seed = 2;
  write(path, 1u << 20, data, write_options);
  return path;
}

}  // namespace

TEST_CASE("convert to a caller's sink flushes it only when synced") {
  vmdk_test::TempDir dir;
  const std::filesystem::path path = durability_source(dir);
  auto chain = Chain::open(path);
  for (DiskType type : {DiskType::raw, DiskType::stream_optimized}) {
    CAPTURE(to_string(type));
    ConvertOptions options;
    options.type = type;
    options.seed = 3;
    FlushCountingSink plain, synced;
    convert_to_sink(*chain_source(*chain), plain, options);
    options.durability = Durability::synced;
    convert_to_sink(*chain_source(*chain), synced, options);
    CHECK(plain.flushes() == 0);
    CHECK(synced.flushes() >= 1);
    CHECK(plain.data() == synced.data());  // durability never changes a byte
  }
}

TEST_CASE("every new extent's writer reaches fsync only through a synced NewFileSink") {
  for (DiskType type : {DiskType::monolithic_sparse, DiskType::monolithic_flat, DiskType::vmfs,
                        DiskType::stream_optimized}) {
    CAPTURE(to_string(type));
    const extent::ExtentKind* kind = extent::kind_for_create_type(type);
    REQUIRE(kind != nullptr);
    extent::WriterParams params;
    params.capacity_bytes = 4u << 20;
    params.threads = 1;
    const std::vector<std::uint8_t> grain(65536, 0x77);
    for (Durability durability : {Durability::page_cache, Durability::synced}) {
      auto counted = std::make_shared<FlushCountingSink>();
      auto sink = std::make_shared<ops::NewFileSink>(counted, durability);
      auto writer = kind->create_writer(sink, params);
      writer->write(1u << 20, grain);
      writer->finish();
      CHECK(!counted->data().empty());
      if (durability == Durability::synced) {
        CHECK(counted->flushes() >= 1);
      } else {
        CHECK(counted->flushes() == 0);
      }
    }
  }
}
