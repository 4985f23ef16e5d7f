// Descriptor text stored back in place (see descriptor_store.hpp).
#include "ops/common/descriptor_store.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "descriptor/syntax.hpp"
#include "extent/kind_table.hpp"
#include "ops/output/temp_file.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace {

// A standalone descriptor is a few KiB; the reader refuses anything this large.
constexpr std::uint64_t kMaxStandaloneBytes = 1u << 20;

std::span<const std::uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// The key of a `key = value` line, trimmed and lower-cased; "" for other lines.
std::string line_key(const std::string& line) {
  auto eq = line.find('=');
  if (eq == std::string::npos || line.empty() || line[0] == '#') return "";
  std::string key = line.substr(0, eq);
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  std::size_t start = key.find_first_not_of(" \t");
  return start == std::string::npos ? "" : descriptor_detail::to_lower(key.substr(start));
}

}  // namespace

DescriptorHome load_descriptor_home(const Disk& disk) {
  DescriptorHome home;
  home.file = disk.path();
  auto file = File::open(disk.path());
  if (const extent::ExtentKind* kind = extent::self_describing_kind(*file)) {
    std::optional<extent::EmbeddedDescriptor> area = kind->embedded_descriptor(*file);
    if (!area || !area->text) {
      home.synthesized = true;
      return home;
    }
    home.embedded = true;
    home.offset = area->offset;
    home.capacity = area->capacity;
    home.text = *area->text;
    return home;
  }
  const std::uint64_t size = file->size();
  if (size > kMaxStandaloneBytes) {
    throw FormatError(disk.path().string(),
                      "descriptor file is " + hex(size) + " bytes, more than " + hex(kMaxStandaloneBytes));
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  read_exact(*file, 0, bytes, "descriptor");
  home.text.assign(bytes.begin(), bytes.end());
  return home;
}

std::string with_header_value(const std::string& text, const std::string& key, const std::string& value) {
  const std::string wanted = descriptor_detail::to_lower(key);
  std::size_t last_header_end = std::string::npos;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string::npos ? text.size() : nl;
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string k = line_key(line);
    if (!k.empty() && k.rfind("ddb.", 0) != 0) {
      if (k == wanted) {
        // Keep everything up to and including '=' and any spaces after it; replace the value.
        std::size_t eq = line.find('=');
        std::size_t value_start = line.find_first_not_of(" \t", eq + 1);
        if (value_start == std::string::npos) value_start = line.size();
        std::string new_line = line.substr(0, value_start) + value;
        return text.substr(0, pos) + new_line + text.substr(pos + line.size());
      }
      last_header_end = nl == std::string::npos ? text.size() : nl + 1;
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  std::string added = key + "=" + value + "\n";
  if (last_header_end == std::string::npos) return added + text;
  return text.substr(0, last_header_end) + added + text.substr(last_header_end);
}

void check_fits(const DescriptorHome& home, const std::string& text) {
  if (home.embedded && text.size() >= home.capacity) {
    // Keep one NUL: readers stop the text there.
    throw UsageError(home.file.string(), "the embedded descriptor would grow to " +
                                             std::to_string(text.size()) + " bytes, past its reserved " +
                                             std::to_string(home.capacity) + " bytes at " + hex(home.offset));
  }
}

void store_descriptor(const DescriptorHome& home, const std::string& text) {
  if (home.synthesized) throw UsageError(home.file.string(), "has no descriptor to change");
  check_fits(home, text);
  if (home.embedded) {
    std::vector<std::uint8_t> area(static_cast<std::size_t>(home.capacity), 0);
    std::copy(text.begin(), text.end(), area.begin());
    auto file = File::open(home.file, File::Mode::read_write);
    file->write_at(home.offset, area);
    file->flush();
    return;
  }
  TempFile temp(home.file);
  {
    auto file = File::open(temp.temp(), File::Mode::create_truncate);
    file->write_at(0, bytes_of(text));
    file->flush();
  }
  temp.rename_into_place();
  sync_folder(home.file.parent_path());
}

}  // namespace vmdk::ops
