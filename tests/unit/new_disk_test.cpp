// New-disk planning and the descriptor store (libvmdk/src/ops/output/new_disk, ops/common/
// descriptor_store): file names and split sizes per type, the canonical descriptor (vmdk-format.md
// 0.5, 1.7, 1.8, 2.10), seeded determinism, and in-place descriptor stores that never outgrow their
// area.
#include <catch2/catch.hpp>

#include <fstream>

#include "descriptor/identity.hpp"
#include "ops/common/descriptor_store.hpp"
#include "ops/output/new_disk.hpp"
#include "vmdk/create.hpp"
#include "support/file_contents.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/disk.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
namespace fs = std::filesystem;

namespace {

NewDiskOptions with_type(DiskType type, std::uint64_t seed = 7) {
  NewDiskOptions o;
  o.type = type;
  o.seed = seed;
  return o;
}

std::vector<std::string> names(const ops::NewDiskPlan& plan) {
  std::vector<std::string> out;
  for (const auto& f : plan.files) out.push_back(f.path.filename().string());
  return out;
}

using vmdk_test::read_text;

}  // namespace

TEST_CASE("file names and extent lines of every type") {
  const std::uint64_t five_gib = 5ull << 30;
  auto mono = ops::plan_new_disk("d/x.vmdk", 1 << 20, with_type(DiskType::monolithic_sparse));
  CHECK(names(mono) == std::vector<std::string>{"x.vmdk"});
  CHECK(mono.descriptor.create_type() == "monolithicSparse");
  CHECK(mono.descriptor.extents().at(0).type == ExtentType::sparse);

  auto split = ops::plan_new_disk("x.vmdk", five_gib, with_type(DiskType::two_gb_sparse));
  CHECK(names(split) == std::vector<std::string>{"x.vmdk", "x-s001.vmdk", "x-s002.vmdk", "x-s003.vmdk"});
  // VMware's 2047 MiB parts, the last one the remainder (2.10).
  REQUIRE(split.descriptor.extents().size() == 3);
  CHECK(split.descriptor.extents()[0].sectors == 4192256);
  CHECK(split.descriptor.extents()[2].sectors == five_gib / 512 - 2 * 4192256);
  CHECK(split.files[1].descriptor_only == false);
  CHECK(split.files[0].descriptor_only == true);

  auto flat = ops::plan_new_disk("x.vmdk", 1 << 20, with_type(DiskType::monolithic_flat));
  CHECK(names(flat) == std::vector<std::string>{"x.vmdk", "x-flat.vmdk"});
  CHECK(flat.descriptor.extents().at(0).offset == 0u);
  auto vmfs = ops::plan_new_disk("x.vmdk", 1 << 20, with_type(DiskType::vmfs));
  CHECK(vmfs.descriptor.extents().at(0).type == ExtentType::vmfs);
  CHECK_FALSE(vmfs.descriptor.extents().at(0).offset.has_value());
  auto splitf = ops::plan_new_disk("x.vmdk", five_gib, with_type(DiskType::two_gb_flat));
  CHECK(names(splitf).at(1) == "x-f001.vmdk");
  auto stream = ops::plan_new_disk("x.vmdk", 1 << 20, with_type(DiskType::stream_optimized));
  CHECK(names(stream) == std::vector<std::string>{"x.vmdk"});
}

TEST_CASE("descriptor: canonical shape, DDB of bases and deltas, geometry by adapter") {
  NewDiskOptions o = with_type(DiskType::monolithic_sparse);
  o.adapter = Adapter::ide;
  o.hw_version = 13;
  auto plan = ops::plan_new_disk("x.vmdk", 100ull << 20, o);
  const std::string text = plan.descriptor.print();
  CHECK(text.rfind("# Disk DescriptorFile\nversion=1\nCID=", 0) == 0);
  CHECK(text.find("parentCID=ffffffff\ncreateType=\"monolithicSparse\"\n\n# Extent description\nRW 204800 SPARSE \"x.vmdk\"\n") !=
        std::string::npos);
  CHECK(plan.descriptor.ddb("ddb.adapterType") == "ide");
  CHECK(plan.descriptor.ddb("ddb.geometry.heads") == "16");
  CHECK(plan.descriptor.ddb("ddb.geometry.cylinders") == "203");  // QEMU's value for 100 MiB IDE (1.8)
  CHECK(plan.descriptor.ddb("ddb.virtualHWVersion") == "13");
  CHECK(plan.descriptor.ddb("ddb.uuid").value().size() == 47);
  CHECK(plan.descriptor.cid() == plan.cid);
  CHECK(plan.cid < 0xfffffffeu);

  auto delta = ops::plan_new_disk("x-000001.vmdk", 100ull << 20, with_type(DiskType::monolithic_sparse),
                                  ops::ParentLink{0x1234abcd, "x.vmdk"});
  CHECK(delta.descriptor.parent_cid() == 0x1234abcdu);
  CHECK(delta.descriptor.parent_file_name_hint() == "x.vmdk");
  CHECK_FALSE(delta.descriptor.ddb("ddb.adapterType").has_value());
  CHECK(delta.descriptor.ddb("ddb.longContentID").value().size() == 32);
}

TEST_CASE("the same seed plans the same disk, and fixed values win over the seed") {
  auto a = ops::plan_new_disk("x.vmdk", 1 << 20, with_type(DiskType::monolithic_sparse, 5));
  auto b = ops::plan_new_disk("x.vmdk", 1 << 20, with_type(DiskType::monolithic_sparse, 5));
  auto c = ops::plan_new_disk("x.vmdk", 1 << 20, with_type(DiskType::monolithic_sparse, 6));
  CHECK(a.descriptor.print() == b.descriptor.print());
  CHECK(a.cid != c.cid);
  NewDiskOptions o = with_type(DiskType::monolithic_sparse, 5);
  o.cid = 0xabcdef01;
  o.uuid = "00 11 22 33 44 55 66 77-88 99 aa bb cc dd ee ff";
  auto d = ops::plan_new_disk("x.vmdk", 1 << 20, o);
  CHECK(d.cid == 0xabcdef01u);
  CHECK(d.descriptor.ddb("ddb.uuid") == o.uuid);
  Random r(1);
  for (int i = 0; i < 1000; ++i) CHECK(r.cid() < 0xfffffffeu);
}

TEST_CASE("bad parameters are usage errors") {
  CHECK_THROWS_AS(ops::plan_new_disk("x.vmdk", 0, with_type(DiskType::monolithic_sparse)), UsageError);
  CHECK_THROWS_AS(ops::plan_new_disk("x.vmdk", 1000, with_type(DiskType::monolithic_sparse)), UsageError);
  CHECK_THROWS_AS(ops::plan_new_disk("x.vmdk", 1 << 20, with_type(DiskType::raw)), UsageError);
  CHECK_THROWS_AS(ops::plan_new_disk("x.vmdk", 3ull << 40, with_type(DiskType::monolithic_sparse)), UsageError);
  NewDiskOptions o = with_type(DiskType::monolithic_sparse);
  o.grain_size = 3000;
  CHECK_THROWS_AS(ops::plan_new_disk("x.vmdk", 1 << 20, o), UsageError);
  o.grain_size = 2u << 20;
  CHECK_THROWS_AS(ops::plan_new_disk("x.vmdk", 1 << 20, o), UsageError);
  // Flat types take any grain size: it is not used.
  o.type = DiskType::monolithic_flat;
  CHECK_NOTHROW(ops::plan_new_disk("x.vmdk", 1 << 20, o));
}

TEST_CASE("descriptors are stored in place, embedded ones never past their area") {
  vmdk_test::TempDir dir("vmdkit-newdisk");
  CreateOptions o;
  o.capacity = 1 << 20;
  o.seed = 1;
  create(dir / "e.vmdk", o);
  o.type = DiskType::monolithic_flat;
  create(dir / "s.vmdk", o);

  for (const char* name : {"e.vmdk", "s.vmdk"}) {
    auto disk = Disk::open(dir / name);
    auto home = ops::load_descriptor_home(*disk);
    CHECK(home.embedded == (std::string(name) == "e.vmdk"));
    Descriptor relabelled = home.descriptor;
    relabelled.set_cid(0x0badcafe);
    const std::string text = relabelled.print_preserving();
    ops::store_descriptor(home, relabelled);
    CHECK(Disk::open(dir / name)->descriptor().cid() == 0x0badcafeu);
    if (home.embedded) {
      const std::string too_long = text + std::string(static_cast<std::size_t>(home.capacity), '#');
      CHECK_THROWS_AS(ops::store_descriptor(home, too_long), UsageError);
      CHECK(Disk::open(dir / name)->descriptor().cid() == 0x0badcafeu);
    }
  }
  CHECK(read_text(dir / "s.vmdk").find("CID=0badcafe\n") != std::string::npos);
  // Temporaries are ".NAME.PID-RANDOM.vmdkit-tmp": none may be left.
  for (const auto& entry : fs::directory_iterator(dir.path))
    CHECK(entry.path().filename().string().find(".vmdkit-tmp") == std::string::npos);
}
