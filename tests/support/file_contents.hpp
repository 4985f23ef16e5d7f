// A whole file's bytes or text in one read, for tests that compare disks with expected images. An
// absent or unreadable file gives an empty result, which the comparisons then report.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vmdk_test {

namespace file_contents_detail {
// One bulk read: the tests read images of up to a few hundred MiB, and a character-by-character
// istreambuf_iterator copy takes seconds for that in the -O0 sanitizer build of the tests.
template <class Container>
Container read_whole(const std::filesystem::path& path) {
  Container contents;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return contents;
  const std::streamoff size = in.tellg();
  if (size <= 0) return contents;
  contents.resize(static_cast<std::size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(contents.data()), size);
  contents.resize(static_cast<std::size_t>(in.gcount()));
  return contents;
}
}  // namespace file_contents_detail

inline std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  return file_contents_detail::read_whole<std::vector<std::uint8_t>>(path);
}

inline std::string read_text(const std::filesystem::path& path) {
  return file_contents_detail::read_whole<std::string>(path);
}

}  // namespace vmdk_test
