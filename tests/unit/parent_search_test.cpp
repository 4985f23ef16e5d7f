// The disk scan behind parent search (libvmdk/src/ops/parent_search): disks kept, extent files
// (vmdk-format.md 5.1) and unreadable files skipped with a reason, CID and capacity filters, and hint
// resolution like Chain::open's (6.2) for files that need not exist yet.
#include "ops/rebuild/parent_search.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "support/kdmv_builder.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/descriptor.hpp"

using namespace vmdk;
namespace fs = std::filesystem;

namespace {

template <typename Bytes>
void write_file(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void flat_base(const fs::path& dir, const std::string& name, std::uint64_t sectors, std::uint32_t cid) {
  write_file(dir / (name + ".vmdk"), "# Disk DescriptorFile\nversion=1\nCID=" + format_cid(cid) +
                                         "\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n"
                                         "# Extent description\nRW " +
                                         std::to_string(sectors) + " FLAT \"" + name + "-flat.vmdk\" 0\n");
  write_file(dir / (name + "-flat.vmdk"), std::vector<std::uint8_t>(sectors * 512, 0));
}

void sparse_child(const fs::path& file, std::uint64_t sectors, std::uint32_t cid, std::uint32_t parent_cid,
                  const std::string& hint) {
  const std::string text =
      "# Disk DescriptorFile\nversion=1\nCID=" + format_cid(cid) + "\nparentCID=" + format_cid(parent_cid) +
      "\ncreateType=\"monolithicSparse\"\nparentFileNameHint=\"" + hint + "\"\n\n# Extent description\nRW " +
      std::to_string(sectors) + " SPARSE \"" + file.filename().string() + "\"\n";
  write_file(file, test::KdmvBuilder(sectors).descriptor(text).build().bytes);
}

}  // namespace

TEST_CASE("scan_disks keeps disks, skips extents and unreadable files, find_disks_by_cid filters") {
  vmdk_test::TempDir dir("vmdkit-parent-search");
  flat_base(dir.path, "base", 2048, 0x12345678);
  sparse_child(dir / "base-000001.vmdk", 2048, 0x9abcdef0, 0x12345678, "base.vmdk");
  write_file(dir / "junk.vmdk", std::string(100, 'x'));
  write_file(dir / "bare.vmdk", test::KdmvBuilder(2048).build().bytes);
  write_file(dir / "base-000002-s001.vmdk", test::KdmvBuilder(2048).build().bytes);
  ops::DiskScan scan = ops::scan_disks({dir.path, dir.path, dir / "absent"});
  REQUIRE(scan.disks.size() == 2);
  CHECK(scan.disks[0].path == dir / "base-000001.vmdk");
  CHECK(scan.disks[0].parent_hint == "base.vmdk");
  CHECK(scan.disks[1].cid == 0x12345678u);
  CHECK(scan.disks[1].capacity == 2048 * 512);
  CHECK(scan.disks[1].complete);
  std::map<std::string, std::string> skipped;
  for (const auto& s : scan.skipped) skipped[s.path.filename().string()] = s.reason;
  CHECK(skipped["base-flat.vmdk"] == "extent file name");
  CHECK(skipped["base-000002-s001.vmdk"] == "extent file name");
  CHECK(skipped["bare.vmdk"] == "bare sparse extent without a descriptor");
  CHECK(skipped["junk.vmdk"].find("not a VMDK") != std::string::npos);
  CHECK(skipped["absent"].find("cannot list the folder") != std::string::npos);

  CHECK(ops::find_disks_by_cid({dir.path}, 0x12345678).size() == 1);
  CHECK(ops::find_disks_by_cid({dir.path}, 0x12345678, 4096 * 512).empty());
  CHECK(ops::find_disks_by_cid({dir.path}, 0x9abcdef0, 2048 * 512).at(0).path == dir / "base-000001.vmdk");
  // A disk whose extent is damaged still yields its CID.
  write_file(dir.path / "damaged.vmdk",
             std::string("# Disk DescriptorFile\nversion=1\nCID=0000abcd\n"
                         "parentCID=ffffffff\ncreateType=\"twoGbMaxExtentSparse\"\n\n"
                         "# Extent description\nRW 2048 SPARSE \"damaged-s001.vmdk\"\n"));
  auto image = test::KdmvBuilder(2048).build();
  image.poke_header("gd_offset", 0xfffffff0);
  write_file(dir.path / "damaged-s001.vmdk", image.bytes);
  auto damaged = ops::find_disks_by_cid({dir.path}, 0xabcd);
  REQUIRE(damaged.size() == 1);
  CHECK_FALSE(damaged[0].complete);
  fs::remove(dir.path / "base-flat.vmdk");  // so does one whose extent is missing
  CHECK(ops::find_disks_by_cid({dir.path}, 0x12345678).at(0).complete == false);

  CHECK(ops::is_extent_file_name("x-flat.vmdk"));
  CHECK(ops::is_extent_file_name("x-000001-delta.vmdk"));
  CHECK(ops::is_extent_file_name("x-000001-sesparse.vmdk"));
  CHECK(ops::is_extent_file_name("x-ctk.vmdk"));
  CHECK(ops::is_extent_file_name("x-f012.vmdk"));
  CHECK_FALSE(ops::is_extent_file_name("x-000001.vmdk"));
  CHECK_FALSE(ops::is_extent_file_name("x.vmdk"));
  CHECK(ops::hint_names("base.vmdk", dir.path, dir / "base.vmdk"));
  CHECK(ops::hint_names("C:\\vm\\base.vmdk", dir.path, dir / "base.vmdk"));
  CHECK(ops::hint_names("new.vmdk", dir.path, dir / "new.vmdk"));  // need not exist
  CHECK_FALSE(ops::hint_names("../x/base.vmdk", dir / "x", dir / "x" / "base.vmdk"));
  CHECK(ops::hint_names("../x/base.vmdk", dir / "x", dir / "x" / "base.vmdk", true));
}
