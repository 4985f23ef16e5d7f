// find_children and find_lock (vmdk-format.md 5.4, 6.2), the `<base>-NNNNNN.vmdk` naming of new
// deltas (5.1, 6.6), snapshot() on created disks, and the DiskType/Adapter names.
#include "ops/common/children.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "support/error_text.hpp"
#include "support/file_contents.hpp"
#include "support/kdmv_builder.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/create.hpp"
#include "vmdk/disk_type.hpp"
#include "vmdk/snapshot.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
namespace fs = std::filesystem;
using vmdk_test::error_text;

namespace {

struct TempDir : vmdk_test::TempDir {
  TempDir() : vmdk_test::TempDir("vmdkit-children") {}
};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

using vmdk_test::read_file;

std::string descriptor_text(const std::string& name, const std::string& parent_cid, const std::string& hint,
                            const std::string& extent_line) {
  std::string text = "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=" + parent_cid +
                     "\ncreateType=\"monolithicFlat\"\n";
  if (!hint.empty()) text += "parentFileNameHint=\"" + hint + "\"\n";
  (void)name;
  return text + "\n# Extent description\n" + extent_line + "\n";
}

// A standalone flat link NAME.vmdk + NAME-flat.vmdk (the data file is not needed to find children).
void text_link(const fs::path& dir, const std::string& name, const std::string& parent_cid = "ffffffff",
               const std::string& hint = "") {
  write_text(dir / (name + ".vmdk"),
             descriptor_text(name, parent_cid, hint, "RW 16 FLAT \"" + name + "-flat.vmdk\" 0"));
  write_text(dir / (name + "-flat.vmdk"), std::string(16 * 512, '\0'));
}

// A monolithic sparse link with an embedded descriptor.
void sparse_link(const fs::path& dir, const std::string& name, const std::string& parent_cid,
                 const std::string& hint) {
  std::string text = "# Disk DescriptorFile\nversion=1\nCID=0badcafe\nparentCID=" + parent_cid +
                     "\ncreateType=\"monolithicSparse\"\nparentFileNameHint=\"" + hint +
                     "\"\n\n# Extent description\nRW 2048 SPARSE \"" + name + ".vmdk\"\n";
  auto image = test::KdmvBuilder(2048).descriptor(text).build();
  std::ofstream out(dir / (name + ".vmdk"), std::ios::binary);
  out.write(reinterpret_cast<const char*>(image.bytes.data()),
            static_cast<std::streamsize>(image.bytes.size()));
}

std::vector<std::string> names(const std::vector<fs::path>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(p.filename().string());
  return out;
}

}  // namespace

TEST_CASE("find_children finds text and sparse deltas whose hint resolves to the disk") {
  TempDir dir;
  text_link(dir.path, "base");
  text_link(dir.path, "child-a", "12345678", "base.vmdk");
  sparse_link(dir.path, "child-b", "12345678", "base.vmdk");
  sparse_link(dir.path, "child-c", "12345678", "./base.vmdk");
  // Absolute hints (another host's folder, a Windows path) fall back to the last component.
  text_link(dir.path, "child-abs", "12345678", "/vmfs/volumes/ds1/vm/base.vmdk");
  text_link(dir.path, "child-win", "12345678", "C:\\VMs\\vm\\base.vmdk");
  // Not children: another parent, a base that still carries a hint, a self-reference.
  text_link(dir.path, "other");
  text_link(dir.path, "not-a", "12345678", "other.vmdk");
  text_link(dir.path, "based", "ffffffff", "base.vmdk");
  text_link(dir.path, "self", "12345678", "self.vmdk");
  // Skipped silently: junk, a non-.vmdk name, a folder, a damaged sparse header.
  write_text(dir / "junk.vmdk", std::string(1000, 'x'));
  write_text(dir / "notes.txt", descriptor_text("notes", "12345678", "base.vmdk", "RW 16 FLAT \"x\" 0"));
  fs::create_directories(dir / "folder.vmdk");
  {
    auto image = test::KdmvBuilder(2048)
                     .descriptor(
                         "# Disk DescriptorFile\nversion=1\nparentCID=1\n"
                         "parentFileNameHint=\"base.vmdk\"\n")
                     .build();
    image.poke_header("descriptor_offset", 0xffffffffffffull);
    std::ofstream out(dir / "damaged.vmdk", std::ios::binary);
    out.write(reinterpret_cast<const char*>(image.bytes.data()),
              static_cast<std::streamsize>(image.bytes.size()));
  }

  const auto children = find_children(dir / "base.vmdk");
  CHECK(names(children) == std::vector<std::string>{"child-a.vmdk", "child-abs.vmdk", "child-b.vmdk",
                                                    "child-c.vmdk", "child-win.vmdk"});
  // The children are named like the disk was (same folder prefix).
  for (const auto& child : children) CHECK(child.parent_path() == dir.path);

  CHECK(names(find_children(dir / "other.vmdk")) == std::vector<std::string>{"not-a.vmdk"});
  CHECK(find_children(dir / "child-a.vmdk").empty());
  CHECK(find_children(dir / "self.vmdk").empty());
}

TEST_CASE("find_children follows '..' hints only when outside paths are allowed") {
  TempDir dir;
  fs::create_directories(dir / "a");
  text_link(dir / "a", "base");
  text_link(dir / "a", "child", "12345678", "../a/base.vmdk");
  CHECK(find_children(dir / "a" / "base.vmdk").empty());
  OpenOptions open;
  open.allow_outside_paths = true;
  CHECK(names(find_children(dir / "a" / "base.vmdk", open)) == std::vector<std::string>{"child.vmdk"});
}

TEST_CASE("find_lock reports a .lck folder beside the disk or beside one of its extent files") {
  TempDir dir;
  text_link(dir.path, "base");
  CHECK_FALSE(find_lock(dir / "base.vmdk"));

  // A plain file of that name is not VMware's lock folder.
  write_text(dir / "base.vmdk.lck", "");
  CHECK_FALSE(find_lock(dir / "base.vmdk"));
  fs::remove(dir / "base.vmdk.lck");

  fs::create_directories(dir / "base-flat.vmdk.lck");
  auto lock = find_lock(dir / "base.vmdk");
  REQUIRE(lock);
  CHECK(lock->filename() == "base-flat.vmdk.lck");

  fs::create_directories(dir / "base.vmdk.lck");
  lock = find_lock(dir / "base.vmdk");
  REQUIRE(lock);
  CHECK(lock->filename() == "base.vmdk.lck");

  sparse_link(dir.path, "mono", "ffffffff", "x.vmdk");
  CHECK_FALSE(find_lock(dir / "mono.vmdk"));
  fs::create_directories(dir / "mono.vmdk.lck");
  CHECK(find_lock(dir / "mono.vmdk"));
  // A missing disk has no lock (and find_lock does not throw).
  CHECK_FALSE(find_lock(dir / "missing.vmdk"));
}

TEST_CASE("snapshot names: base without -NNNNNN, first free six-digit number") {
  CHECK(ops::snapshot_base_name("base.vmdk") == "base");
  CHECK(ops::snapshot_base_name("dir/base-000003.vmdk") == "base");
  CHECK(ops::snapshot_base_name("my-disk-000012.vmdk") == "my-disk");
  CHECK(ops::snapshot_base_name("a-12.vmdk") == "a-12");
  CHECK(ops::snapshot_base_name("a-1234567.vmdk") == "a-1234567");
  CHECK(ops::snapshot_base_name("vm_1-000001.vmdk") == "vm_1");

  TempDir dir;
  write_text(dir / "base.vmdk", "");
  CHECK(ops::next_snapshot_path(dir / "base.vmdk") == dir / "base-000001.vmdk");
  write_text(dir / "base-000001.vmdk", "");
  CHECK(ops::next_snapshot_path(dir / "base.vmdk") == dir / "base-000002.vmdk");
  // Any file starting with the name takes the number: split parts, ESXi -delta files, our temporaries.
  write_text(dir / "base-000002-delta.vmdk", "");
  write_text(dir / ".base-000003.vmdk.vmdkit-tmp", "");
  write_text(dir / "base-000004-s001.vmdk", "");
  write_text(dir / "base-000006.vmdk", "");
  CHECK(ops::next_snapshot_path(dir / "base.vmdk") == dir / "base-000005.vmdk");
  CHECK(ops::next_snapshot_path(dir / "base-000006.vmdk") == dir / "base-000005.vmdk");
  // Other bases do not count.
  write_text(dir / "basement-000005.vmdk", "");
  write_text(dir / "base-00005.vmdk", "");
  CHECK(ops::next_snapshot_path(dir / "base.vmdk") == dir / "base-000005.vmdk");
  // A bare file name stays bare.
  CHECK(ops::next_snapshot_path("nowhere-000001.vmdk") ==
        fs::path("nowhere-000001.vmdk").parent_path() / "nowhere-000001.vmdk");
}

TEST_CASE("snapshot makes linked deltas and never changes the parent") {
  TempDir dir;
  CreateOptions create_options;
  create_options.capacity = 8 << 20;
  create_options.seed = 7;
  const CreateReport created = create(dir / "base.vmdk", create_options);
  CHECK(created.files == std::vector<std::string>{(dir / "base.vmdk").string()});
  CHECK(created.type == "monolithicSparse");
  const auto base_bytes = read_file(dir / "base.vmdk");

  SnapshotOptions options;
  options.seed = 8;
  const SnapshotReport first = snapshot(dir / "base.vmdk", options);
  CHECK(first.path == (dir / "base-000001.vmdk").string());
  CHECK(first.parent_cid == created.cid);
  CHECK(first.parent_hint == "base.vmdk");
  CHECK(read_file(dir / "base.vmdk") == base_bytes);

  auto chain = Chain::open(first.path);
  CHECK(chain->ok());
  REQUIRE(chain->layers().size() == 2);
  const Descriptor& delta = chain->layers()[0].disk->descriptor();
  CHECK(delta.parent_cid() == created.cid);
  CHECK(delta.parent_file_name_hint() == "base.vmdk");
  CHECK(delta.cid() == first.cid);
  CHECK(chain->capacity() == create_options.capacity);

  // A second snapshot of the base would fork the chain.
  const std::string refused = error_text([&] { snapshot(dir / "base.vmdk", options); });
  CHECK_THAT(refused, Catch::Contains("already has a child") && Catch::Contains("base-000001.vmdk"));
  CHECK_FALSE(fs::exists(dir / "base-000002.vmdk"));

  // Snapshot of the delta: -000002, hint names the delta.
  options.cid = 0x01020304;
  const SnapshotReport second = snapshot(first.path, options);
  CHECK(second.path == (dir / "base-000002.vmdk").string());
  CHECK(second.cid == 0x01020304);
  CHECK(second.parent_hint == "base-000001.vmdk");
  CHECK(Chain::open(second.path)->layers().size() == 3);

  // Forced: a fork, named with the next free number.
  options.force = true;
  options.cid.reset();
  CHECK(snapshot(dir / "base.vmdk", options).path == (dir / "base-000003.vmdk").string());

  // A lock folder refuses unless forced.
  fs::create_directories(dir / "base-000002.vmdk.lck");
  options.force = false;
  CHECK_THAT(error_text([&] { snapshot(second.path, options); }), Catch::Contains("base-000002.vmdk.lck"));
  options.force = true;
  CHECK(snapshot(second.path, options).path == (dir / "base-000004.vmdk").string());
}

TEST_CASE("snapshot refuses a parent whose chain is broken") {
  TempDir dir;
  text_link(dir.path, "orphan", "12345678", "gone.vmdk");
  CHECK_THROWS_AS(snapshot(dir / "orphan.vmdk"), ChainError);
  CHECK_FALSE(fs::exists(dir / "orphan-000001.vmdk"));
}

TEST_CASE("create refuses raw, bad sizes and existing files") {
  TempDir dir;
  CreateOptions options;
  options.capacity = 1 << 20;
  options.type = DiskType::raw;
  CHECK_THROWS_AS(create(dir / "r.vmdk", options), UsageError);
  options.type = DiskType::monolithic_sparse;
  options.capacity = 1000;
  CHECK_THROWS_AS(create(dir / "odd.vmdk", options), UsageError);
  options.capacity = 0;
  CHECK_THROWS_AS(create(dir / "zero.vmdk", options), UsageError);
  write_text(dir / "taken.vmdk", "keep");
  options.capacity = 1 << 20;
  CHECK_THROWS_AS(create(dir / "taken.vmdk", options), UsageError);
  CHECK(read_file(dir / "taken.vmdk").size() == 4);
}

TEST_CASE("disk type and adapter names") {
  for (DiskType type : {DiskType::monolithic_sparse, DiskType::two_gb_sparse, DiskType::monolithic_flat,
                        DiskType::two_gb_flat, DiskType::stream_optimized, DiskType::vmfs, DiskType::raw}) {
    CHECK(parse_disk_type(to_string(type)) == type);
  }
  CHECK(parse_disk_type("STREAMOPTIMIZED") == DiskType::stream_optimized);
  CHECK(parse_disk_type("2GbMaxExtentFlat") == DiskType::two_gb_flat);
  CHECK_THAT(error_text([] { parse_disk_type("vmfsSparse"); }),
             Catch::Contains("vmfsSparse") && Catch::Contains("monolithicSparse"));
  for (Adapter adapter :
       {Adapter::ide, Adapter::buslogic, Adapter::lsilogic, Adapter::lsisas1068, Adapter::pvscsi}) {
    CHECK(parse_adapter(to_string(adapter)) == adapter);
  }
  CHECK_THROWS_AS(parse_adapter("scsi"), UsageError);
}
