// Chain::open (parent resolution and link checks, vmdk-format.md 6.2) and the merged chain map
// (reads and map through qemu-made sparse chains, compared with qemu-img as an oracle).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "chain/window_map.hpp"
#include "vmdk/chain.hpp"
#include "vmdk/error.hpp"
#include "support/error_text.hpp"
#include "support/file_contents.hpp"
#include "support/temp_dir.hpp"

using namespace vmdk;
namespace fs = std::filesystem;

namespace {

struct TempDir : vmdk_test::TempDir {
  TempDir() : vmdk_test::TempDir("vmdkit-chain") {}
};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

using vmdk_test::read_file;

// A link made of one flat extent "<name>-flat.bin" filled with fill; parent_hint empty for a base.
void flat_link(const TempDir& dir, const std::string& name, const std::string& cid, const std::string& parent_cid,
               const std::string& parent_hint, std::uint64_t sectors = 16, std::uint8_t fill = 0x11) {
  std::string text = "# Disk DescriptorFile\nversion=1\nCID=" + cid + "\nparentCID=" + parent_cid +
                     "\ncreateType=\"monolithicFlat\"\n";
  if (!parent_hint.empty()) text += "parentFileNameHint=\"" + parent_hint + "\"\n";
  text += "\n# Extent description\nRW " + std::to_string(sectors) + " FLAT \"" + name + "-flat.bin\" 0\n";
  write_text(dir / (name + ".vmdk"), text);
  std::ofstream(dir / (name + "-flat.bin"), std::ios::binary)
      << std::string(static_cast<std::size_t>(sectors * 512), static_cast<char>(fill));
}

using vmdk_test::error_text;

bool have_qemu() { return std::system("qemu-img --version >/dev/null 2>&1 && qemu-io --version >/dev/null 2>&1") == 0; }

void run(const std::string& command) {
  INFO(command);
  REQUIRE(std::system((command + " >/dev/null").c_str()) == 0);
}

std::string capture(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  REQUIRE(::pclose(pipe) == 0);
  return out;
}

// Every byte of chain equals qemu-img's raw conversion of the same leaf.
void check_against_qemu(const Chain& chain, const TempDir& dir, const fs::path& leaf) {
  run("qemu-img convert -f vmdk -O raw " + leaf.string() + " " + (dir / "expect.raw").string());
  auto expect = read_file(dir / "expect.raw");
  REQUIRE(expect.size() == chain.capacity());
  std::vector<std::uint8_t> got(expect.size());
  chain.read(0, got);
  CHECK(got == expect);
  // Unaligned pieces across grain, table and window boundaries.
  std::mt19937_64 random(7);
  for (int i = 0; i < 200; ++i) {
    std::uint64_t offset = random() % expect.size();
    std::uint64_t length = 1 + random() % std::min<std::uint64_t>(300000, expect.size() - offset);
    std::vector<std::uint8_t> piece(static_cast<std::size_t>(length));
    chain.read(offset, piece);
    REQUIRE(std::equal(piece.begin(), piece.end(), expect.begin() + static_cast<std::ptrdiff_t>(offset)));
  }
}

// present/zero/data/depth agree with `qemu-img map --output=json` for every byte.
void check_map_against_qemu(const Chain& chain, const fs::path& leaf) {
  auto qemu = nlohmann::json::parse(capture("qemu-img map -f vmdk --output=json " + leaf.string()));
  auto ours = chain.map(0, chain.capacity());
  REQUIRE(!ours.empty());
  std::size_t k = 0;
  for (const auto& entry : qemu) {
    const std::uint64_t start = entry["start"];
    const std::uint64_t end = start + entry["length"].get<std::uint64_t>();
    for (std::uint64_t pos = start; pos < end;) {
      while (k < ours.size() && ours[k].offset + ours[k].length <= pos) ++k;
      REQUIRE(k < ours.size());
      const ChainRun& run = ours[k];
      INFO("offset " << pos << " qemu " << entry.dump());
      CHECK(run.present == entry["present"].get<bool>());
      CHECK(run.zero == entry["zero"].get<bool>());
      CHECK(run.data == entry["data"].get<bool>());
      CHECK(run.depth == entry["depth"].get<std::size_t>());
      pos = std::min(end, run.offset + run.length);
    }
  }
  // Our map covers the disk without gaps and merges neighbours that are equal.
  std::uint64_t expect = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    CHECK(ours[i].offset == expect);
    expect += ours[i].length;
    if (ours[i].data) {
      CHECK_FALSE(ours[i].file.empty());
      CHECK(ours[i].host_offset != kNoHostOffset);
    }
  }
  CHECK(expect == chain.capacity());
}

}  // namespace

TEST_CASE("to_string of link states", "[chain]") {
  CHECK(to_string(LinkState::ok) == "ok");
  CHECK(to_string(LinkState::base) == "base");
  CHECK(to_string(LinkState::cid_mismatch) == "cid_mismatch");
  CHECK(to_string(LinkState::missing_parent) == "missing_parent");
  CHECK(to_string(LinkState::outside_folder) == "outside_folder");
  CHECK(to_string(LinkState::capacity_mismatch) == "capacity_mismatch");
  CHECK(to_string(LinkState::cycle) == "cycle");
}

TEST_CASE("a base alone is a one-layer chain", "[chain]") {
  TempDir dir;
  flat_link(dir, "base", "1234abcd", "ffffffff", "");
  auto chain = Chain::open(dir / "base.vmdk");
  REQUIRE(chain->layers().size() == 1);
  CHECK(chain->layers()[0].link == LinkState::base);
  CHECK(chain->ok());
  CHECK(chain->capacity() == 16 * 512);
  auto runs = chain->map(0, chain->capacity());
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].data);
  CHECK(runs[0].depth == 0);
  CHECK(runs[0].file == (dir / "base-flat.bin").string());
  CHECK(runs[0].host_offset == 0);
}

TEST_CASE("a relative hint finds the parent in the child's folder", "[chain]") {
  TempDir dir;
  flat_link(dir, "base", "1234abcd", "ffffffff", "", 16, 0x11);
  flat_link(dir, "child", "99990000", "1234abcd", "base.vmdk", 16, 0x22);
  auto chain = Chain::open(dir / "child.vmdk");
  REQUIRE(chain->layers().size() == 2);
  CHECK(chain->layers()[0].link == LinkState::ok);
  CHECK(chain->layers()[0].parent_path == dir / "base.vmdk");
  CHECK(chain->layers()[1].link == LinkState::base);
  CHECK(chain->ok());
  CHECK(chain->warnings().empty());
  // A flat child owns every byte: the parent is never read.
  std::vector<std::uint8_t> out(1000);
  chain->read(3000, out);
  CHECK(std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0x22; }));
  auto runs = chain->map(0, chain->capacity());
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].depth == 0);
}

TEST_CASE("a missing parent names the hint and every path tried", "[chain]") {
  TempDir dir;
  flat_link(dir, "child", "99990000", "1234abcd", "gone.vmdk");
  CHECK_THROWS_AS(Chain::open(dir / "child.vmdk"), ChainError);
  std::string text = error_text([&] { Chain::open(dir / "child.vmdk"); });
  CHECK_THAT(text, Catch::Contains("\"gone.vmdk\"") && Catch::Contains((dir / "gone.vmdk").string()));

  ChainOptions options;
  options.report_broken = true;
  auto chain = Chain::open(dir / "child.vmdk", options);
  REQUIRE(chain->layers().size() == 1);
  CHECK(chain->layers()[0].link == LinkState::missing_parent);
  CHECK(chain->layers()[0].tried == std::vector<std::string>{(dir / "gone.vmdk").string()});
  CHECK_FALSE(chain->ok());
  CHECK_FALSE(chain->warnings().empty());

  flat_link(dir, "orphan", "99990000", "1234abcd", "");
  CHECK_THAT(error_text([&] { Chain::open(dir / "orphan.vmdk"); }), Catch::Contains("orphan delta"));
}

TEST_CASE("absolute ESXi and Windows hints fall back to the child's folder with a warning", "[chain]") {
  for (std::string hint : {"/vmfs/volumes/5f0c1a2b-3c4d5e6f/vm/base.vmdk", "C:\\\\Users\\\\me\\\\VMs\\\\vm\\\\base.vmdk",
                           "C:\\Users\\me\\VMs\\vm\\base.vmdk"}) {
    INFO(hint);
    TempDir dir;
    flat_link(dir, "base", "1234abcd", "ffffffff", "");
    flat_link(dir, "child", "99990000", "1234abcd", hint);
    auto chain = Chain::open(dir / "child.vmdk");
    REQUIRE(chain->layers().size() == 2);
    CHECK(chain->layers()[0].parent_path == dir / "base.vmdk");
    REQUIRE(chain->warnings().size() == 1);
    CHECK_THAT(chain->warnings()[0], Catch::Contains("absolute") && Catch::Contains("base.vmdk"));
  }
}

TEST_CASE("with allow_outside_paths an absolute hint is tried as it is first", "[chain]") {
  TempDir elsewhere;
  flat_link(elsewhere, "base", "1234abcd", "ffffffff", "", 16, 0x44);
  TempDir dir;
  flat_link(dir, "base", "1234abcd", "ffffffff", "", 16, 0x55);
  flat_link(dir, "child", "99990000", "1234abcd", (elsewhere / "base.vmdk").string());
  ChainOptions options;
  options.open.allow_outside_paths = true;
  auto chain = Chain::open(dir / "child.vmdk", options);
  CHECK(chain->layers()[0].parent_path == elsewhere / "base.vmdk");
  // Without the option the local copy is used.
  CHECK(Chain::open(dir / "child.vmdk")->layers()[0].parent_path == dir / "base.vmdk");
}

TEST_CASE("hints with .. are refused unless outside paths are allowed", "[chain][safety]") {
  TempDir dir;
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  TempDir base_dir;
  flat_link(dir, "base", "1234abcd", "ffffffff", "");
  std::string text = "version=1\nCID=99990000\nparentCID=1234abcd\ncreateType=\"monolithicFlat\"\n"
                     "parentFileNameHint=\"../base.vmdk\"\nRW 16 FLAT \"../base-flat.bin\" 0\n";
  write_text(dir / "b" / "child.vmdk", text);
  CHECK_THROWS_AS(Chain::open(dir / "b" / "child.vmdk"), Error);
  ChainOptions options;
  options.open.allow_outside_paths = true;
  auto chain = Chain::open(dir / "b" / "child.vmdk", options);
  CHECK(chain->layers().size() == 2);

  // A parent that is a symlink out of the folder is refused too.
  fs::create_symlink(dir / "base.vmdk", dir / "a" / "base.vmdk");
  write_text(dir / "a" / "child.vmdk", "version=1\nCID=99990000\nparentCID=1234abcd\ncreateType=\"monolithicFlat\"\n"
                                       "parentFileNameHint=\"base.vmdk\"\nRW 16 ZERO\n");
  std::string message = error_text([&] { Chain::open(dir / "a" / "child.vmdk"); });
  CHECK_THAT(message, Catch::Contains("symlink"));
}

TEST_CASE("a CID mismatch names both files and both CIDs", "[chain]") {
  TempDir dir;
  flat_link(dir, "base", "abc", "ffffffff", "");
  flat_link(dir, "child", "99990000", "1234abcd", "base.vmdk");
  CHECK_THROWS_AS(Chain::open(dir / "child.vmdk"), ChainError);
  std::string text = error_text([&] { Chain::open(dir / "child.vmdk"); });
  CHECK_THAT(text, Catch::Contains((dir / "child.vmdk").string()) && Catch::Contains((dir / "base.vmdk").string()) &&
                       Catch::Contains("1234abcd") && Catch::Contains("00000abc"));

  ChainOptions allow;
  allow.allow_cid_mismatch = true;
  auto chain = Chain::open(dir / "child.vmdk", allow);
  REQUIRE(chain->layers().size() == 2);
  CHECK(chain->layers()[0].link == LinkState::cid_mismatch);
  CHECK(chain->layers()[1].link == LinkState::base);
  CHECK_FALSE(chain->ok());
  REQUIRE(chain->warnings().size() == 1);
  CHECK_THAT(chain->warnings()[0], Catch::Contains("1234abcd") && Catch::Contains("00000abc"));

  ChainOptions report;
  report.report_broken = true;
  auto broken = Chain::open(dir / "child.vmdk", report);
  REQUIRE(broken->layers().size() == 1);
  CHECK(broken->layers()[0].link == LinkState::cid_mismatch);
  CHECK(broken->layers()[0].parent_path == dir / "base.vmdk");
}

TEST_CASE("a capacity mismatch is a broken link", "[chain]") {
  TempDir dir;
  flat_link(dir, "base", "1234abcd", "ffffffff", "", 8);
  flat_link(dir, "child", "99990000", "1234abcd", "base.vmdk", 16);
  CHECK_THAT(error_text([&] { Chain::open(dir / "child.vmdk"); }), Catch::Contains("capacity mismatch"));
  ChainOptions report;
  report.report_broken = true;
  auto chain = Chain::open(dir / "child.vmdk", report);
  REQUIRE(chain->layers().size() == 1);
  CHECK(chain->layers()[0].link == LinkState::capacity_mismatch);
}

TEST_CASE("cycles are detected by file identity", "[chain]") {
  TempDir dir;
  flat_link(dir, "a", "aaaaaaaa", "bbbbbbbb", "b.vmdk");
  flat_link(dir, "b", "bbbbbbbb", "aaaaaaaa", "./a.vmdk");
  CHECK_THROWS_AS(Chain::open(dir / "a.vmdk"), ChainError);
  CHECK_THAT(error_text([&] { Chain::open(dir / "a.vmdk"); }), Catch::Contains("cycle"));
  ChainOptions report;
  report.report_broken = true;
  auto chain = Chain::open(dir / "a.vmdk", report);
  REQUIRE(chain->layers().size() == 2);
  CHECK(chain->layers()[0].link == LinkState::ok);
  CHECK(chain->layers()[1].link == LinkState::cycle);

  flat_link(dir, "self", "cccccccc", "cccccccc", "self.vmdk");
  CHECK_THAT(error_text([&] { Chain::open(dir / "self.vmdk"); }), Catch::Contains("cycle"));

  // Other names of a layer already seen: a hard link and a symlink are the same file.
  flat_link(dir, "h", "dddddddd", "eeeeeeee", "h-link.vmdk");
  fs::create_hard_link(dir / "h.vmdk", dir / "h-link.vmdk");
  CHECK_THAT(error_text([&] { Chain::open(dir / "h.vmdk"); }), Catch::Contains("cycle"));
  flat_link(dir, "s", "12121212", "34343434", "s-alias.vmdk");
  fs::create_symlink("s.vmdk", dir / "s-alias.vmdk");
  CHECK_THAT(error_text([&] { Chain::open(dir / "s.vmdk"); }), Catch::Contains("cycle"));
}

TEST_CASE("the depth limit stops long chains", "[chain]") {
  TempDir dir;
  flat_link(dir, "l0", "00000010", "ffffffff", "");
  flat_link(dir, "l1", "00000011", "00000010", "l0.vmdk");
  flat_link(dir, "l2", "00000012", "00000011", "l1.vmdk");
  ChainOptions options;
  options.max_depth = 2;
  CHECK_THAT(error_text([&] { Chain::open(dir / "l2.vmdk", options); }), Catch::Contains("deeper than 2"));
  options.max_depth = 3;
  CHECK(Chain::open(dir / "l2.vmdk", options)->layers().size() == 3);
}

TEST_CASE("ZERO extents in a layer read as zeros and hide the parent", "[chain]") {
  TempDir dir;
  flat_link(dir, "base", "1234abcd", "ffffffff", "", 16, 0x11);
  write_text(dir / "child.vmdk", "version=1\nCID=99990000\nparentCID=1234abcd\ncreateType=\"monolithicFlat\"\n"
                                 "parentFileNameHint=\"base.vmdk\"\nRW 8 ZERO\nRW 8 FLAT \"base-flat.bin\" 0\n");
  auto chain = Chain::open(dir / "child.vmdk");
  auto runs = chain->map(0, chain->capacity());
  REQUIRE(runs.size() == 2);
  CHECK((runs[0].present && runs[0].zero && !runs[0].data && runs[0].depth == 0));
  CHECK((runs[1].present && runs[1].data && runs[1].depth == 0));
  std::vector<std::uint8_t> out(16 * 512);
  chain->read(0, out);
  CHECK(std::all_of(out.begin(), out.begin() + 4096, [](std::uint8_t b) { return b == 0; }));
  CHECK(std::all_of(out.begin() + 4096, out.end(), [](std::uint8_t b) { return b == 0x11; }));
  CHECK_THROWS_AS(chain->read(16 * 512 - 1, std::span<std::uint8_t>(out.data(), 2)), UsageError);
}

TEST_CASE("sparse chains made by qemu read and map like qemu-img says", "[chain][qemu]") {
  if (!have_qemu()) {
    WARN("qemu-img or qemu-io not found: skipped");
    return;
  }
  TempDir dir;
  const std::string base = (dir / "base.vmdk").string();
  const std::string mid = (dir / "mid.vmdk").string();
  const std::string top = (dir / "top.vmdk").string();
  run("qemu-img create -q -f vmdk " + base + " 48M");
  run("qemu-io -f vmdk -c 'write -P 0x11 0 5M' -c 'write -P 0x12 33000000 2M' " + base);
  run("qemu-img create -q -f vmdk -b base.vmdk -F vmdk " + mid);
  run("qemu-io -f vmdk -c 'write -P 0x21 1000 70000' -c 'write -P 0x22 2000000 3000000' "
      "-c 'write -P 0x23 33553000 5000' " + mid);
  run("qemu-img create -q -f vmdk -o zeroed_grain=on -b mid.vmdk -F vmdk " + top);
  run("qemu-io -f vmdk -c 'write -z 65536 131072' -c 'write -P 0x33 33554000 1000' -c 'write -z 3000000 1048576' "
      "-c 'write -P 0x34 47000000 100' " + top);

  auto chain = Chain::open(top);
  REQUIRE(chain->layers().size() == 3);
  CHECK(chain->ok());
  check_against_qemu(*chain, dir, top);
  check_map_against_qemu(*chain, top);

  // A zeroed grain in the top layer hides the data below it.
  auto runs = chain->map(65536, 131072);
  REQUIRE(runs.size() == 1);
  CHECK((runs[0].present && runs[0].zero && !runs[0].data && runs[0].depth == 0));

  // Several threads share one chain and its window cache.
  auto expect = read_file(dir / "expect.raw");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 random(static_cast<unsigned>(t));
      std::vector<std::uint8_t> piece(100000);
      for (int i = 0; i < 100; ++i) {
        std::uint64_t offset = random() % (expect.size() - piece.size());
        chain->read(offset, piece);
        if (!std::equal(piece.begin(), piece.end(), expect.begin() + static_cast<std::ptrdiff_t>(offset))) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(wrong == 0);
}

TEST_CASE("a depth-30 chain costs no layer lookups once its windows are resolved", "[chain][qemu]") {
  if (!have_qemu()) {
    WARN("qemu-img or qemu-io not found: skipped");
    return;
  }
  TempDir dir;
  constexpr int kDepth = 30;
  run("qemu-img create -q -f vmdk " + (dir / "l0.vmdk").string() + " 40M");
  run("qemu-io -f vmdk -c 'write -P 0x01 0 40M' " + (dir / "l0.vmdk").string());
  for (int i = 1; i < kDepth; ++i) {
    const std::string name = (dir / ("l" + std::to_string(i) + ".vmdk")).string();
    run("qemu-img create -q -f vmdk -b l" + std::to_string(i - 1) + ".vmdk -F vmdk " + name);
    run("qemu-io -f vmdk -c 'write -P " + std::to_string(i + 1) + " " + std::to_string(i * 1000003) + " 70000' " + name);
  }
  const fs::path leaf = dir / ("l" + std::to_string(kDepth - 1) + ".vmdk");
  auto chain = Chain::open(leaf);
  REQUIRE(chain->layers().size() == kDepth);
  check_against_qemu(*chain, dir, leaf);

  // Both windows are now cached: further reads and maps make no Disk::map call at all.
  const std::uint64_t before = chain::layer_map_calls();
  std::vector<std::uint8_t> piece(1 << 20);
  for (std::uint64_t offset = 0; offset + piece.size() <= chain->capacity(); offset += 999999) chain->read(offset, piece);
  chain->map(0, chain->capacity());
  CHECK(chain::layer_map_calls() == before);

  // A fresh chain resolves a window with at most one Disk::map per layer.
  auto fresh = Chain::open(leaf);
  const std::uint64_t start = chain::layer_map_calls();
  fresh->read(0, piece);
  CHECK(chain::layer_map_calls() - start <= static_cast<std::uint64_t>(kDepth));
}
