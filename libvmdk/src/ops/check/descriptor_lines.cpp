// Line offsets of a descriptor for check findings (vmdk-format.md 1.1, 1.2, 1.6).
#include "ops/check/descriptor_lines.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "extent/kind_hooks.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace {

constexpr std::uint64_t kMaxText = 10u << 20;

std::string_view trim_left(std::string_view line) {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line;
}

bool is_extent_line(std::string_view line) {
  for (std::string_view access : {"RW ", "RDONLY ", "NOACCESS "}) {
    if (line.substr(0, access.size()) == access) return true;
  }
  return false;
}

}  // namespace

DescriptorLines::DescriptorLines(const Disk& disk) {
  try {
    std::shared_ptr<File> file = File::open(disk.path());
    std::uint64_t length = std::min<std::uint64_t>(file->size(), kMaxText);
    if (disk.embedded_descriptor()) {
      const extent::DescriptorArea area = extent::embedded_descriptor_area(*file);
      base_ = area.offset;
      length = std::min<std::uint64_t>(area.bytes, kMaxText);
    }
    text_.resize(static_cast<std::size_t>(length));
    const std::size_t got =
        file->read_at(base_, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(text_.data()), text_.size()));
    text_.resize(std::min(got, text_.find('\0') == std::string::npos ? got : text_.find('\0')));
  } catch (const Error&) {
    text_.clear();
  }
}

std::optional<std::uint64_t> DescriptorLines::key(std::string_view key) const {
  std::size_t pos = 0;
  while (pos < text_.size()) {
    std::size_t end = text_.find('\n', pos);
    if (end == std::string::npos) end = text_.size();
    std::string_view line = trim_left(std::string_view(text_).substr(pos, end - pos));
    if (line.substr(0, key.size()) == key) {
      std::string_view rest = trim_left(line.substr(key.size()));
      if (!rest.empty() && rest.front() == '=') return base_ + pos;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> DescriptorLines::extent_line(std::size_t index) const {
  std::size_t pos = 0;
  std::size_t seen = 0;
  while (pos < text_.size()) {
    std::size_t end = text_.find('\n', pos);
    if (end == std::string::npos) end = text_.size();
    if (is_extent_line(trim_left(std::string_view(text_).substr(pos, end - pos)))) {
      if (seen == index) return base_ + pos;
      ++seen;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace vmdk
