// The file pool (io/pooled_file.hpp): more files than the pool keeps open all read correctly, at
// most kPooledOpenFiles stay open, and a file replaced while closed is refused, not read.
#include "io/pooled_file.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "vmdk/error.hpp"

using namespace vmdk;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string read_all(const ByteSource& file) {
  std::string text(static_cast<std::size_t>(file.size()), '\0');
  file.read_at(0, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(text.data()), text.size()));
  return text;
}

std::size_t open_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

}  // namespace

TEST_CASE("pooled files: many more files than the pool keeps open", "[io]") {
  vmdk_test::TempDir dir("vmdkit-pool");
  const std::size_t before = open_descriptors();
  std::vector<std::shared_ptr<io::PooledFile>> files;
  for (int i = 0; i < 300; ++i) {
    write_text(dir / ("f" + std::to_string(i)), "file " + std::to_string(i));
    files.push_back(io::PooledFile::open(dir / ("f" + std::to_string(i))));
  }
  CHECK(open_descriptors() <= before + io::kPooledOpenFiles);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 300; ++i) CHECK(read_all(*files[static_cast<std::size_t>(i)]) == "file " + std::to_string(i));
  }
  CHECK(open_descriptors() <= before + io::kPooledOpenFiles);
  files.clear();
  CHECK(open_descriptors() == before);
}

TEST_CASE("pooled files: a file replaced while closed is refused", "[io]") {
  vmdk_test::TempDir dir("vmdkit-pool");
  write_text(dir / "extent", "original");
  auto file = io::PooledFile::open(dir / "extent");
  std::vector<std::shared_ptr<io::PooledFile>> others;
  for (std::size_t i = 0; i < io::kPooledOpenFiles; ++i) {  // closes "extent"
    write_text(dir / ("o" + std::to_string(i)), "x");
    others.push_back(io::PooledFile::open(dir / ("o" + std::to_string(i))));
  }
  write_text(dir / "new", "replaced");
  fs::rename(dir / "new", dir / "extent");
  CHECK_THROWS_AS(read_all(*file), IoError);
}
