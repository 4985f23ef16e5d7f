// KDMV extents against independent producers: images made by qemu-img/qemu-io (compared with
// `qemu-img convert -O raw`) and the VMware/VirtualBox samples (compared with MANIFEST sha256).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "extent/sparse/open_sparse.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace fs = std::filesystem;
using namespace vmdk;

namespace {

bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command quietly (its own redirections, if any, come first and win).
void run(const std::string& command, bool quiet = true) {
  INFO(command);
  REQUIRE(std::system((quiet ? command + " >/dev/null 2>&1" : command).c_str()) == 0);
}

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("vmdkit-sparse-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::uint8_t> slurp(const fs::path& path, std::uint64_t offset, std::uint64_t length) {
  std::vector<std::uint8_t> out(length, 0);
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(length));
  return out;
}

// Compares the extent in `part` (covering raw[offset, offset+size)) with the raw image, 8 MiB at a time.
void compare_with_raw(const fs::path& part, const fs::path& raw, std::uint64_t offset) {
  std::shared_ptr<const ByteSource> file = File::open(part);
  const std::uint64_t size = sparse::header_capacity_bytes(*file);
  auto extent = sparse::open_sparse_extent(file, size);
  const std::uint64_t chunk = 8u << 20;
  std::vector<std::uint8_t> ours;
  for (std::uint64_t at = 0; at < size; at += chunk) {
    std::uint64_t n = std::min(chunk, size - at);
    ours.resize(n);
    extent->read(at, ours);
    auto theirs = slurp(raw, offset + at, n);
    INFO(part.string() << " at " << hex(at));
    REQUIRE(ours == theirs);
  }
}

std::string sha256_of_extent(const fs::path& path, std::uint64_t size) {
  std::shared_ptr<const ByteSource> file = File::open(path);
  auto extent = sparse::open_sparse_extent(file, size);
  fs::path out = path.string() + ".sha";
  FILE* pipe = ::popen(("sha256sum > '" + out.string() + "'").c_str(), "w");
  REQUIRE(pipe != nullptr);
  std::vector<std::uint8_t> buf(8u << 20);
  for (std::uint64_t at = 0; at < size; at += buf.size()) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - at));
    extent->read(at, std::span<std::uint8_t>(buf).subspan(0, n));
    REQUIRE(std::fwrite(buf.data(), 1, n, pipe) == n);
  }
  REQUIRE(::pclose(pipe) == 0);
  std::ifstream in(out);
  std::string digest;
  in >> digest;
  return digest;
}

}  // namespace

TEST_CASE("images made by qemu-img read like qemu-img convert -O raw") {
  if (!have("qemu-img") || !have("qemu-io")) {
    WARN("qemu-img or qemu-io not installed: skipped");
    return;
  }
  fs::path dir = temp_dir("qemu");
  const std::string d = dir.string();
  auto io = [&](const std::string& image, const std::string& cmd) {
    run("qemu-io -f vmdk -c '" + cmd + "' '" + image + "'");
  };

  SECTION("monolithicSparse, writes spanning grain and table boundaries") {
    std::string img = d + "/mono.vmdk";
    run("qemu-img create -f vmdk '" + img + "' 100M");
    io(img, "write -P 0x5a 65536 70000");
    io(img, "write -P 0x11 33553000 3000");
    io(img, "write -P 0x22 1000 10");
    io(img, "write -P 0x33 104791040 65536");
    run("qemu-img convert -f vmdk -O raw '" + img + "' '" + d + "/mono.raw'");
    compare_with_raw(img, d + "/mono.raw", 0);
    auto desc = sparse::read_embedded_descriptor(*File::open(img));
    REQUIRE(desc);
    CHECK(desc->find("monolithicSparse") != std::string::npos);
  }
  SECTION("zeroed grains (version 2)") {
    std::string img = d + "/zero.vmdk";
    run("qemu-img create -f vmdk -o zeroed_grain=on '" + img + "' 10M");
    io(img, "write -P 0x44 0 262144");
    io(img, "write -z 65536 65536");
    run("qemu-img convert -f vmdk -O raw '" + img + "' '" + d + "/zero.raw'");
    compare_with_raw(img, d + "/zero.raw", 0);
    std::shared_ptr<const ByteSource> file = File::open(img);
    auto extent = sparse::open_sparse_extent(file, sparse::header_capacity_bytes(*file));
    CHECK(extent->block_status(65536, 65536).state == BlockState::zero);
  }
  SECTION("streamOptimized (layout C)") {
    std::string src = d + "/src.vmdk";
    run("qemu-img create -f vmdk '" + src + "' 40M");
    io(src, "write -P 0x5a 65536 70000");
    io(src, "write -P 0x66 33554000 2000");
    std::string img = d + "/stream.vmdk";
    run("qemu-img convert -f vmdk -O vmdk -o subformat=streamOptimized '" + src + "' '" + img + "'");
    run("qemu-img convert -f vmdk -O raw '" + img + "' '" + d + "/stream.raw'");
    compare_with_raw(img, d + "/stream.raw", 0);
  }
  SECTION("twoGbMaxExtentSparse parts without a usable embedded descriptor") {
    std::string img = d + "/split.vmdk";
    run("qemu-img create -f vmdk -o subformat=twoGbMaxExtentSparse '" + img + "' 2100M");
    io(img, "write -P 0x77 2147418112 131072");
    run("qemu-img convert -f vmdk -O raw '" + img + "' '" + d + "/split.raw'");
    CHECK(sparse::read_embedded_descriptor(*File::open(d + "/split-s002.vmdk")) == std::nullopt);
    compare_with_raw(d + "/split-s002.vmdk", d + "/split.raw", 2147483648ull);
    // The written end of part 1.
    std::shared_ptr<const ByteSource> file = File::open(d + "/split-s001.vmdk");
    auto extent = sparse::open_sparse_extent(file, 2147483648ull);
    std::vector<std::uint8_t> tail(65536);
    extent->read(2147483648ull - 65536, tail);
    CHECK(tail == std::vector<std::uint8_t>(65536, 0x77));
  }
  fs::remove_all(dir);
}

TEST_CASE("VMware and VirtualBox samples read to their MANIFEST sha256") {
  fs::path samples = VMDKIT_SAMPLES_DIR;
  if (!fs::exists(samples / "MANIFEST.tsv") || !have("gunzip") || !have("sha256sum")) {
    WARN("samples, gunzip or sha256sum not available: skipped");
    return;
  }
  struct Sample {
    const char* gz;
    std::uint64_t size;
    const char* sha;
  };
  const Sample list[] = {
      {"vmware-workstation/monolithicSparse.vmdk.gz", 10485760,
       "a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727"},
      {"vmware-workstation/twoGbMaxExtentSparse-s001.vmdk.gz", 10485760,
       "a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727"},
      {"vmware-stream/empty-1g.vmdk.gz", 1073741824,
       "49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14"},
      {"virtualbox/stream-empty-4m.vmdk.gz", 4194304,
       "bb9f8df61474d25e71fa00722318cd387396ca1736605e1248821cc0de3d3af8"},
  };
  fs::path dir = temp_dir("samples");
  for (const Sample& s : list) {
    fs::path gz = samples / s.gz;
    if (!fs::exists(gz)) {
      WARN(std::string("sample missing: ") + s.gz);
      continue;
    }
    fs::path out = dir / gz.stem();
    run("gunzip -c '" + gz.string() + "' > '" + out.string() + "'", false);
    INFO(s.gz);
    CHECK(sha256_of_extent(out, s.size) == s.sha);
  }
  fs::remove_all(dir);
}
