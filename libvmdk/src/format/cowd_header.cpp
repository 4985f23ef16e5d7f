// vmfsSparse (COWD) header codec (vmdk-format.md 4.2.1): numeric fields through the field table,
// the root/child union kept as raw bytes, text fields NUL padded.
#include "format/cowd_header.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

#include "format/endian.hpp"
#include "format/field_table.hpp"
#include "vmdk/error.hpp"

namespace vmdk::format {

namespace {

// The numeric members outside the union, in table order (keeps field()/set_field() table-driven).
template <typename H, typename F>
void cowd_members(H& h, F&& f) {
  f("magic", h.magic);
  f("version", h.version);
  f("flags", h.flags);
  f("num_sectors", h.num_sectors);
  f("grain_size", h.grain_size);
  f("gd_offset", h.gd_offset);
  f("num_gd_entries", h.num_gd_entries);
  f("free_sector", h.free_sector);
  f("parent_generation", h.parent_generation);
  f("generation", h.generation);
  f("saved_generation", h.saved_generation);
  f("reserved", h.reserved);
  f("unclean_shutdown", h.unclean_shutdown);
}

constexpr std::size_t kUnionOffset = 32;

bool is_text(std::string_view name) {
  return name == "parent_file_name" || name == "name" || name == "description";
}

bool is_root_view(std::string_view name) {
  return name == "root_cylinders" || name == "root_heads" || name == "root_sectors";
}

constexpr std::string_view kNumeric = "numeric COWD header";
auto walk_members = [](auto& h, auto&& f) { cowd_members(h, f); };

// Bytes up to the first NUL (or the whole span).
std::string text_at(std::span<const std::uint8_t> bytes, std::size_t offset, std::size_t size) {
  if (offset >= bytes.size()) return "";
  auto field = bytes.subspan(offset, std::min(size, bytes.size() - offset));
  auto end = std::find(field.begin(), field.end(), std::uint8_t{0});
  return std::string(field.begin(), end);
}

void store_text(std::span<std::uint8_t> bytes, std::size_t offset, std::size_t size,
                const std::string& text) {
  std::copy_n(text.begin(), std::min(size, text.size()), bytes.begin() + static_cast<std::ptrdiff_t>(offset));
}

}  // namespace

const FieldInfo& cowd_header_field(std::string_view name) {
  return find_field(kCowdHeaderFields, name, "COWD header");
}

std::uint64_t CowdHeader::field(std::string_view field_name) const {
  if (is_root_view(field_name)) {
    return load_le(union_bytes, cowd_header_field(field_name).offset - kUnionOffset, 4);
  }
  return get_member(*this, field_name, walk_members, kNumeric);
}

void CowdHeader::set_field(std::string_view field_name, std::uint64_t value) {
  if (is_root_view(field_name)) {
    store_le(union_bytes, cowd_header_field(field_name).offset - kUnionOffset, 4, value);
    return;
  }
  set_member(*this, field_name, value, walk_members, kNumeric);
}

std::string CowdHeader::parent_file_name() const {
  return text_at(union_bytes, 0, union_bytes.size());
}

void CowdHeader::set_parent_file_name(std::string_view file_name) {
  // Keep a final NUL: readers of the C struct treat the field as a C string.
  if (file_name.size() >= kCowdParentNameSize) {
    throw UsageError("", "a COWD parent file name holds at most 1023 bytes (got " +
                             std::to_string(file_name.size()) + ")");
  }
  union_bytes.fill(0);
  std::copy(file_name.begin(), file_name.end(), union_bytes.begin());
}

bool has_cowd_magic(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 4 && load_le32(bytes, 0) == kCowdMagic;
}

CowdHeader decode_cowd_header(std::span<const std::uint8_t> input) {
  // A short input decodes as if padded with zeros (a field it holds only partly keeps those bytes).
  std::array<std::uint8_t, kCowdHeaderSize> padded{};
  std::copy_n(input.begin(), std::min(input.size(), padded.size()), padded.begin());
  const std::span<const std::uint8_t> bytes(padded);
  CowdHeader header;
  for (const FieldInfo& field : kCowdHeaderFields) {
    if (is_text(field.name) || is_root_view(field.name)) continue;
    std::uint64_t value =
        field.offset + field.size <= bytes.size() ? load_le(bytes, field.offset, field.size) : 0;
    header.set_field(field.name, value);
  }
  header.union_bytes.fill(0);
  if (bytes.size() > kUnionOffset) {
    auto area = bytes.subspan(kUnionOffset, std::min(kCowdParentNameSize, bytes.size() - kUnionOffset));
    std::copy(area.begin(), area.end(), header.union_bytes.begin());
  }
  header.name = text_at(bytes, cowd_header_field("name").offset, kCowdNameSize);
  header.description = text_at(bytes, cowd_header_field("description").offset, kCowdDescriptionSize);
  return header;
}

std::array<std::uint8_t, kCowdHeaderSize> encode_cowd_header(const CowdHeader& header) {
  std::array<std::uint8_t, kCowdHeaderSize> bytes{};
  for (const FieldInfo& field : kCowdHeaderFields) {
    if (is_text(field.name) || is_root_view(field.name)) continue;
    store_le(bytes, field.offset, field.size, header.field(field.name));
  }
  std::copy(header.union_bytes.begin(), header.union_bytes.end(), bytes.begin() + kUnionOffset);
  store_text(bytes, cowd_header_field("name").offset, kCowdNameSize, header.name);
  store_text(bytes, cowd_header_field("description").offset, kCowdDescriptionSize, header.description);
  return bytes;
}

}  // namespace vmdk::format
