// The kind table (extent/kind_table.hpp): a test registers a small kind of its own and reads,
// writes, checks and converts a disk through it, so a new kind is one folder and one registration.
// The test kind claims FLAT lines whose file starts with its own magic (ExtentType is a public enum:
// the table's probe tells it from a flat file without a new descriptor type).
#include "extent/kind_table.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include "support/temp_dir.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/check.hpp"
#include "vmdk/convert.hpp"
#include "vmdk/disk_type.hpp"
#include "vmdk/write.hpp"
#include "vmdk/disk.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;

namespace {

// The test format: "VMDKTEST" and the capacity (u64 LE) at 0, one allocation byte per grain from
// 512, grains at fixed places from data_base(). Nothing of it is crash safe: it only has to show
// that the library reaches a kind through the table alone.
constexpr char kTestMagic[8] = {'V', 'M', 'D', 'K', 'T', 'E', 'S', 'T'};
constexpr std::uint64_t kTestGrain = 4096;
constexpr std::uint64_t kTestTable = 512;

struct TestLayout {
  std::uint64_t capacity = 0;
  std::uint64_t grains() const { return (capacity + kTestGrain - 1) / kTestGrain; }
  std::uint64_t data_base() const {
    return (kTestTable + grains() + kTestGrain - 1) / kTestGrain * kTestGrain;
  }
  std::uint64_t grain_at(std::uint64_t index) const { return data_base() + index * kTestGrain; }
};

TestLayout read_test_layout(const ByteSource& file) {
  std::uint8_t head[16] = {};
  if (file.read_at(0, head) != sizeof head || std::memcmp(head, kTestMagic, 8) != 0) {
    throw FormatError(file.name(), "not a test kind file");
  }
  TestLayout layout;
  for (int i = 7; i >= 0; --i) layout.capacity = layout.capacity << 8 | head[8 + i];
  return layout;
}

std::vector<std::uint8_t> read_test_table(const ByteSource& file, const TestLayout& layout) {
  std::vector<std::uint8_t> table(static_cast<std::size_t>(layout.grains()));
  file.read_at(kTestTable, table);
  return table;
}

class TestExtent final : public Extent {
 public:
  TestExtent(std::shared_ptr<const ByteSource> file, std::uint64_t size)
      : file_(std::move(file)),
        layout_(read_test_layout(*file_)),
        table_(read_test_table(*file_, layout_)),
        size_(size) {}
  std::uint64_t size() const override { return size_; }
  Run block_status(std::uint64_t offset, std::uint64_t max_len) const override {
    const std::uint64_t end = std::min(size_, offset + max_len);
    const bool data = held(offset / kTestGrain);
    std::uint64_t at = offset;
    while (at < end && held(at / kTestGrain) == data) at = (at / kTestGrain + 1) * kTestGrain;
    Run run{offset, std::min(at, end) - offset, data ? BlockState::data : BlockState::unallocated};
    if (data) run.host_offset = layout_.data_base() + offset;
    return run;
  }
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    while (!out.empty()) {
      const std::uint64_t in_grain = std::min<std::uint64_t>(out.size(), kTestGrain - offset % kTestGrain);
      auto piece = out.first(static_cast<std::size_t>(in_grain));
      if (held(offset / kTestGrain)) {
        file_->read_at(layout_.data_base() + offset, piece);
      } else {
        std::fill(piece.begin(), piece.end(), std::uint8_t{0});
      }
      offset += in_grain;
      out = out.subspan(piece.size());
    }
  }
  const std::string& host_file() const override { return file_->name(); }
  const ByteSource* host_source() const override { return file_.get(); }
  ExtentDetails details() const override {
    ExtentDetails d;
    d.format = "test";
    d.grain_size = kTestGrain;
    d.allocated_bytes = static_cast<std::uint64_t>(std::count(table_.begin(), table_.end(), 1)) * kTestGrain;
    return d;
  }
  ExtentCapabilities capabilities() const override {
    ExtentCapabilities caps;
    caps.grain_updates = true;
    return caps;
  }

 private:
  bool held(std::uint64_t grain) const { return grain < table_.size() && table_[grain] == 1; }
  std::shared_ptr<const ByteSource> file_;
  TestLayout layout_;
  std::vector<std::uint8_t> table_;
  std::uint64_t size_;
};

class TestUpdater final : public extent::GrainUpdater {
 public:
  explicit TestUpdater(std::shared_ptr<File> file)
      : file_(std::move(file)), layout_(read_test_layout(*file_)), table_(read_test_table(*file_, layout_)) {}
  std::uint64_t grain_bytes() const override { return kTestGrain; }
  std::uint64_t capacity_bytes() const override { return layout_.capacity; }
  bool zeroed_grains() const override { return false; }
  void stage_grain(std::uint64_t index, std::span<const std::uint8_t> data) override {
    file_->write_at(layout_.grain_at(index), data);
    staged_[index] = 1;
  }
  void stage_zeroed(std::uint64_t) override { throw UsageError(file_->name(), "no zeroed grains"); }
  void stage_unallocated(std::uint64_t index) override { staged_[index] = 0; }
  std::optional<std::uint64_t> grain_host_offset(std::uint64_t index) const override {
    if (index >= table_.size() || table_[index] != 1) return std::nullopt;
    return layout_.grain_at(index);
  }
  void overwrite_grain(std::uint64_t index, std::span<const std::uint8_t> data) override {
    extent::overwrite_held_grain(*this, *file_, file_->name(), index, data);
  }
  void flush() override { file_->flush(); }
  void commit() override {
    for (const auto& [index, state] : staged_) {
      table_[index] = state;
      const std::uint8_t byte[1] = {state};
      file_->write_at(kTestTable + index, byte);
    }
    staged_.clear();
    file_->flush();
  }
  std::size_t staged() const override { return staged_.size(); }

 private:
  std::shared_ptr<File> file_;
  TestLayout layout_;
  std::vector<std::uint8_t> table_;
  std::map<std::uint64_t, std::uint8_t> staged_;
};

class TestKind final : public extent::ExtentKind {
 public:
  std::string_view name() const override { return "test"; }
  bool serves(ExtentType type) const override { return type == ExtentType::flat; }
  bool probe(const ByteSource& file) const override {
    std::uint8_t magic[8] = {};
    return file.read_at(0, magic) == sizeof magic && std::memcmp(magic, kTestMagic, 8) == 0;
  }
  extent::KindCapabilities capabilities() const override {
    extent::KindCapabilities caps;
    caps.writable_in_place = true;
    caps.whole_file = true;
    return caps;
  }
  std::unique_ptr<Extent> open_reader(const extent::ReaderRequest& request) const override {
    return std::make_unique<TestExtent>(request.file, request.size_bytes);
  }
  std::unique_ptr<extent::GrainUpdater> open_updater(std::shared_ptr<File> file,
                                                     std::uint64_t) const override {
    return std::make_unique<TestUpdater>(std::move(file));
  }
};

// Registers the test kind for one test case and removes it afterwards.
struct TestKindRegistration {
  std::shared_ptr<const extent::ExtentKind> kind = std::make_shared<TestKind>();
  TestKindRegistration() { extent::register_kind(kind); }
  ~TestKindRegistration() { extent::unregister_kind(kind.get()); }
};

// A one-extent disk of the test kind: grain 3 holds 0x5a, the rest is unallocated.
std::filesystem::path make_test_disk(const vmdk_test::TempDir& dir, std::uint64_t capacity) {
  TestLayout layout{capacity};
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(layout.grain_at(layout.grains())), 0);
  std::memcpy(bytes.data(), kTestMagic, 8);
  for (int i = 0; i < 8; ++i) bytes[8 + i] = static_cast<std::uint8_t>(capacity >> (8 * i));
  bytes[kTestTable + 3] = 1;
  std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(layout.grain_at(3)), kTestGrain,
              std::uint8_t{0x5a});
  std::ofstream(dir / "disk-test.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  std::ofstream(dir / "disk.vmdk") << "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
                                      "createType=\"monolithicFlat\"\n\nRW "
                                   << capacity / 512
                                   << " FLAT \"disk-test.bin\" 0\n\nddb.adapterType = \"lsilogic\"\n";
  return dir / "disk.vmdk";
}

std::vector<std::uint8_t> read_disk(const std::filesystem::path& path, std::uint64_t offset,
                                    std::size_t length) {
  auto chain = Chain::open(path);
  std::vector<std::uint8_t> out(length);
  chain->read(offset, out);
  return out;
}

bool all_bytes(const std::vector<std::uint8_t>& bytes, std::uint8_t value) {
  return std::all_of(bytes.begin(), bytes.end(), [value](std::uint8_t b) { return b == value; });
}

}  // namespace

TEST_CASE("kind table: a registered test kind opens FLAT lines whose file carries its magic") {
  TestKindRegistration registration;
  vmdk_test::TempDir dir("vmdkit-kind");
  const auto path = make_test_disk(dir, 1 << 20);
  auto disk = Disk::open(path);
  REQUIRE(disk->extents().size() == 1);
  CHECK(disk->extents()[0].extent->details().format == "test");
  CHECK(all_bytes(read_disk(path, 3 * kTestGrain, kTestGrain), 0x5a));
  CHECK(all_bytes(read_disk(path, 0, 3 * kTestGrain), 0));
}

TEST_CASE("kind table: write, check and convert go through the test kind's table entry") {
  TestKindRegistration registration;
  vmdk_test::TempDir dir("vmdkit-kind");
  const auto path = make_test_disk(dir, 1 << 20);

  WriteData data;
  data.pattern = 0xa7;
  data.length = 6000;  // a whole grain and part of the next
  write(path, 8 * kTestGrain, data);
  CHECK(all_bytes(read_disk(path, 8 * kTestGrain, 6000), 0xa7));
  CHECK(all_bytes(read_disk(path, 8 * kTestGrain + 6000, 2 * kTestGrain - 6000), 0));
  CHECK(all_bytes(read_disk(path, 3 * kTestGrain, kTestGrain), 0x5a));

  CheckReport report = check(path);
  CHECK(report.findings.empty());
  CHECK(report.exit_status() == 0);

  auto chain = Chain::open(path);
  ConvertOptions options;
  options.type = DiskType::monolithic_sparse;
  convert(*chain_source(*chain), dir / "copy.vmdk", options);
  std::vector<std::uint8_t> original(1 << 20), copy(1 << 20);
  chain->read(0, original);
  Chain::open(dir / "copy.vmdk")->read(0, copy);
  CHECK(original == copy);
}

TEST_CASE("kind table: without the registration the same file is a flat extent again") {
  vmdk_test::TempDir dir("vmdkit-kind");
  const auto path = make_test_disk(dir, 1 << 20);
  {
    TestKindRegistration registration;
    CHECK(Disk::open(path)->extents()[0].extent->details().format == "test");
  }
  // The flat kind, the FLAT line's default, reads the file as raw bytes (the line covers 1 MiB).
  CHECK(Disk::open(path)->extents()[0].extent->details().format == "flat");
}

TEST_CASE("kind table: createTypes map to the kinds that write them") {
  CHECK(extent::kind_for_create_type(DiskType::raw) == nullptr);
  for (DiskType type : {DiskType::monolithic_sparse, DiskType::two_gb_sparse, DiskType::monolithic_flat,
                        DiskType::two_gb_flat, DiskType::stream_optimized, DiskType::vmfs,
                        DiskType::vmfs_thin, DiskType::vmfs_sparse, DiskType::se_sparse}) {
    const extent::ExtentKind* kind = extent::kind_for_create_type(type);
    REQUIRE(kind != nullptr);
    CHECK(kind->writes(type));
  }
  CHECK(extent::kind_for_create_type(DiskType::stream_optimized)->capabilities().sequential_only);
  CHECK_THROWS_AS(extent::kind_for_line(ExtentType::vmfsrdm, nullptr), UnsupportedError);
  CHECK_FALSE(extent::kind_for_line(ExtentType::zero, nullptr).capabilities().needs_file);
}
