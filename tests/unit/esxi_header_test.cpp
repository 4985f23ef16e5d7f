// Unit tests of the ESXi header codecs (libvmdk/src/format/cowd_header, sesparse_header): field
// tables against vmdk-format.md 4.2.1 / 4.3.1 / 4.3.2, byte-exact round trips, the COWD union, and a
// decode of the real SESparse sample (samples/esxi/disk-sesparse.vmdk.gz).
#include <zlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <vector>

#include "format/cowd_header.hpp"
#include "format/endian.hpp"
#include "format/sesparse_header.hpp"
#include "support/error_text.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
using namespace vmdk::format;
namespace fs = std::filesystem;

namespace {

template <std::size_t N>
void check_table(const std::array<FieldInfo, N>& table, std::size_t structure_size) {
  std::size_t end = 0;  // end of the previous field
  for (const FieldInfo& field : table) {
    INFO(field.name);
    CHECK(field.size > 0);
    CHECK(field.offset + field.size <= structure_size);
    // In on-disk order without overlaps, except the COWD union: the parent name starts again at 32.
    if (field.name == "parent_file_name") {
      CHECK(field.offset == 32);
    } else {
      CHECK(field.offset >= end);
    }
    end = field.offset + field.size;
  }
}

// The samples folder beside the project (CMake's VMDKIT_SAMPLES_DIR) or the shared one.
std::optional<fs::path> samples_dir() {
  for (const fs::path& dir : {fs::path(VMDKIT_SAMPLES_DIR), fs::path("/work/shared/samples")}) {
    std::error_code error;
    if (fs::exists(dir / "esxi" / "disk-sesparse.vmdk.gz", error)) return dir;
  }
  return std::nullopt;
}

// The first `size` bytes of a gzip file.
std::vector<std::uint8_t> gunzip_head(const fs::path& gz, std::size_t size) {
  gzFile file = gzopen(gz.c_str(), "rb");
  REQUIRE(file != nullptr);
  std::vector<std::uint8_t> bytes(size);
  const int got = gzread(file, bytes.data(), static_cast<unsigned>(size));
  gzclose(file);
  REQUIRE(got == static_cast<int>(size));
  return bytes;
}

}  // namespace

TEST_CASE("COWD field table follows 4.2.1") {
  check_table(kCowdHeaderFields, kCowdHeaderSize);
  CHECK(cowd_header_field("num_sectors").offset == 12);
  CHECK(cowd_header_field("free_sector").offset == 28);
  CHECK(cowd_header_field("parent_file_name").size == 1024);
  CHECK(cowd_header_field("parent_generation").offset == 1056);
  CHECK(cowd_header_field("generation").offset == 1060);
  CHECK(cowd_header_field("name").offset == 1064);
  CHECK(cowd_header_field("description").offset == 1124);
  CHECK(cowd_header_field("saved_generation").offset == 1636);
  CHECK(cowd_header_field("unclean_shutdown").offset == 1648);
  // Last field + the 396-byte pad = the 2048-byte header.
  CHECK(cowd_header_field("unclean_shutdown").offset + 4 + 396 == kCowdHeaderSize);
  CHECK_THROWS_AS(cowd_header_field("nope"), UsageError);
  CowdHeader h;
  CHECK_THROWS_AS(h.field("name"), UsageError);  // text fields have no numeric value
}

TEST_CASE("COWD header encodes at the documented offsets and round-trips") {
  // The 16 MiB delta of 4.2.2's verified example: grainSize 1, 8 directory entries, GD at sector 4.
  CowdHeader h;
  h.num_sectors = 32768;
  h.num_gd_entries = 8;
  h.free_sector = 106;
  h.generation = 7;
  h.saved_generation = 7;
  h.unclean_shutdown = 1;
  h.reserved = 0x0102030405060708ull;
  h.name = "delta";
  h.description = "made by a test";
  auto bytes = encode_cowd_header(h);
  std::span<const std::uint8_t> b(bytes);
  CHECK(std::string(bytes.begin(), bytes.begin() + 4) == "COWD");
  CHECK(load_le32(b, 4) == 1);
  CHECK(load_le32(b, 8) == 3);  // ESXi's flags: root + check capable
  CHECK(load_le32(b, 12) == 32768);
  CHECK(load_le32(b, 16) == 1);
  CHECK(load_le32(b, 20) == 4);
  CHECK(load_le32(b, 24) == 8);
  CHECK(load_le32(b, 28) == 106);
  CHECK(load_le32(b, 1060) == 7);
  CHECK(std::string(bytes.begin() + 1064, bytes.begin() + 1069) == "delta");
  CHECK(bytes[1069] == 0);
  CHECK(load_le32(b, 1636) == 7);
  CHECK(load_le64(b, 1640) == 0x0102030405060708ull);
  CHECK(load_le32(b, 1648) == 1);
  CHECK(std::all_of(bytes.begin() + 1652, bytes.end(), [](std::uint8_t x) { return x == 0; }));
  CHECK(has_cowd_magic(b));
  CHECK_FALSE(has_cowd_magic(b.subspan(1)));

  CowdHeader back = decode_cowd_header(bytes);
  CHECK(back == h);
  CHECK(encode_cowd_header(back) == bytes);
  CHECK(back.field("num_sectors") == 32768);
  back.set_field("free_sector", 200);
  CHECK(back.free_sector == 200);
}

TEST_CASE("COWD union: root geometry and parent name share bytes 32..") {
  CowdHeader root;
  root.set_field("root_cylinders", 1000);
  root.set_field("root_heads", 16);
  root.set_field("root_sectors", 63);
  auto bytes = encode_cowd_header(root);
  CHECK(load_le32(bytes, 32) == 1000);
  CHECK(load_le32(bytes, 36) == 16);
  CHECK(load_le32(bytes, 40) == 63);
  // Geometry that contains NUL bytes survives a round trip (the union is kept as bytes).
  CowdHeader back = decode_cowd_header(bytes);
  CHECK(back.field("root_heads") == 16);
  CHECK(encode_cowd_header(back) == bytes);

  CowdHeader child;
  child.flags = 0;
  child.set_parent_file_name("parent.vmdk");
  child.parent_generation = 3;
  bytes = encode_cowd_header(child);
  CHECK(std::string(bytes.begin() + 32, bytes.begin() + 43) == "parent.vmdk");
  CHECK(bytes[43] == 0);
  CHECK(load_le32(bytes, 1056) == 3);
  back = decode_cowd_header(bytes);
  CHECK(back.parent_file_name() == "parent.vmdk");
  CHECK(back.field("root_cylinders") == load_le32(bytes, 32));  // the other view of the same bytes
  CHECK_THROWS_AS(child.set_parent_file_name(std::string(1024, 'x')), UsageError);
  child.set_parent_file_name(std::string(1023, 'x'));
  CHECK(decode_cowd_header(encode_cowd_header(child)).parent_file_name().size() == 1023);
}

TEST_CASE("COWD text fields are cut to their size and short input decodes as zeros") {
  CowdHeader h;
  h.name = std::string(70, 'n');
  h.description = std::string(600, 'd');
  CowdHeader back = decode_cowd_header(encode_cowd_header(h));
  CHECK(back.name == std::string(60, 'n'));
  CHECK(back.description == std::string(512, 'd'));
  std::vector<std::uint8_t> short_bytes = {'C', 'O', 'W', 'D', 1, 0, 0, 0};
  CowdHeader partial = decode_cowd_header(short_bytes);
  CHECK(partial.magic == kCowdMagic);
  CHECK(partial.version == 1);
  CHECK(partial.num_sectors == 0);
  CHECK(partial.name.empty());
  // A field the input holds only partly decodes as if the input were padded with zeros.
  std::vector<std::uint8_t> cut = {'C', 'O', 'W', 'D', 2, 1};
  CHECK(decode_cowd_header(cut).version == 0x102);
  std::vector<std::uint8_t> se_cut(19, 0);
  se_cut[16] = 0x34;
  se_cut[18] = 0x12;
  CHECK(decode_sesparse_header(se_cut).capacity == 0x120034);
}

TEST_CASE("SESparse field tables follow 4.3.1 and 4.3.2") {
  check_table(kSesparseHeaderFields, kSesparseHeaderSize);
  check_table(kSesparseVolatileFields, kSesparseHeaderSize);
  CHECK(sesparse_header_field("capacity").offset == 16);
  CHECK(sesparse_header_field("flags").offset == 40);
  CHECK(sesparse_header_field("volatile_header_offset").offset == 80);
  CHECK(sesparse_header_field("grain_dir_offset").offset == 128);
  CHECK(sesparse_header_field("grains_size").offset == 200);
  CHECK(sesparse_header_field("grains_size").offset + 8 == kSesparsePadOffset);
  CHECK(sesparse_volatile_field("replay_journal").offset == 24);
  CHECK_THROWS_AS(sesparse_header_field("nope"), UsageError);
  CHECK_THROWS_AS(sesparse_volatile_field("capacity"), UsageError);
}

TEST_CASE("SESparse headers encode at the documented offsets and round-trip") {
  // The layout ESXi logged for a 100 MiB disk (4.3.1).
  SesparseHeader h;
  h.capacity = 204800;
  h.volatile_header_offset = 1;
  h.volatile_header_size = 1;
  h.journal_header_offset = 2;
  h.journal_header_size = 2;
  h.journal_offset = 2048;
  h.journal_size = 2048;
  h.grain_dir_offset = 4096;
  h.grain_dir_size = 2048;
  h.grain_tables_offset = 6144;
  h.grain_tables_size = 2048;
  h.free_bitmap_offset = 8192;
  h.free_bitmap_size = 2048;
  h.backmap_offset = 10240;
  h.backmap_size = 2048;
  h.grains_offset = 12288;
  h.grains_size = 204800;
  auto bytes = encode_sesparse_header(h);
  const std::vector<std::uint8_t> head = {0xbe, 0xba, 0xfe, 0xca, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
  CHECK(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + 16) == head);
  CHECK(load_le64(bytes, 16) == 204800);
  CHECK(load_le64(bytes, 24) == 8);
  CHECK(load_le64(bytes, 32) == 64);
  CHECK(load_le64(bytes, 128) == 4096);
  CHECK(load_le64(bytes, 192) == 12288);
  CHECK(has_sesparse_magic(bytes));
  SesparseHeader back = decode_sesparse_header(bytes);
  CHECK(back == h);
  CHECK(back.pad_zero);
  CHECK(encode_sesparse_header(back) == bytes);
  bytes[300] = 1;
  CHECK_FALSE(decode_sesparse_header(bytes).pad_zero);
  back.set_field("flags", 5);
  CHECK(back.field("flags") == 5);

  SesparseVolatileHeader v;
  v.free_gt_number = 2;
  v.next_txn_seq_number = 9;
  auto vbytes = encode_sesparse_volatile_header(v);
  CHECK(load_le64(vbytes, 0) == kSesparseVolatileMagic);
  CHECK(load_le64(vbytes, 8) == 2);
  CHECK(load_le64(vbytes, 16) == 9);
  CHECK(decode_sesparse_volatile_header(vbytes) == v);
  vbytes[40] = 1;
  CHECK_FALSE(decode_sesparse_volatile_header(vbytes).pad_zero);
  CHECK_FALSE(has_sesparse_magic(std::span<const std::uint8_t>(vbytes)));
}

TEST_CASE("the real SESparse sample decodes", "[samples]") {
  std::optional<fs::path> samples = samples_dir();
  if (!samples) {
    WARN("samples folder (../shared/samples beside the project, or /work/shared/samples) not found: skipped");
    return;
  }
  // Sector 0 (constant header) and sector 1 (volatile header) of the extent.
  std::vector<std::uint8_t> bytes = gunzip_head(*samples / "esxi" / "disk-sesparse.vmdk.gz", 1024);
  std::span<const std::uint8_t> all(bytes);
  SesparseHeader h = decode_sesparse_header(all.first(512));
  CHECK(h.magic == kSesparseMagic);
  CHECK(h.version == kSesparseVersion);
  CHECK(h.capacity == 1048576);  // 512 MiB, as samples/esxi/sesparse.vmdk says
  CHECK(h.grain_size == 8);
  CHECK(h.grain_table_size == 64);
  CHECK(h.flags == 0);
  CHECK(h.volatile_header_offset == 1);
  CHECK(h.volatile_header_size == 1);
  CHECK(h.journal_header_offset == 2);
  CHECK(h.journal_header_size == 2);
  CHECK(h.journal_offset == 0x800);
  CHECK(h.journal_size == 0x800);
  CHECK(h.grain_dir_offset == 0x1000);
  CHECK(h.grain_dir_size == 0x800);
  CHECK(h.grain_tables_offset == 0x1800);
  CHECK(h.grain_tables_size == 0x800);
  CHECK(h.free_bitmap_offset == 0x2000);
  CHECK(h.backmap_offset == 0x2800);
  CHECK(h.grains_offset == 0x3000);
  CHECK(h.grains_size == 1048576);
  CHECK(h.pad_zero);
  auto encoded = encode_sesparse_header(h);
  CHECK(std::vector<std::uint8_t>(encoded.begin(), encoded.end()) ==
        std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + 512));

  SesparseVolatileHeader v = decode_sesparse_volatile_header(all.subspan(512, 512));
  CHECK(v.magic == kSesparseVolatileMagic);
  CHECK(v.free_gt_number == 1);
  CHECK(v.replay_journal == 0);
  CHECK(v.pad_zero);
}
