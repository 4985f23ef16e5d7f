// Hosted sparse header/footer codec (vmdk-format.md 2.1): decode/encode through the field table.
#include "format/sparse_header.hpp"

#include <string>
#include <type_traits>

#include "format/endian.hpp"
#include "format/field_table.hpp"
#include "vmdk/error.hpp"

namespace vmdk::format {

namespace {

// Pointer to the member holding each field, in table order (keeps the codec table-driven).
template <typename H, typename F>
void sparse_members(H& h, F&& f) {
  f("magic", h.magic);
  f("version", h.version);
  f("flags", h.flags);
  f("capacity", h.capacity);
  f("grain_size", h.grain_size);
  f("descriptor_offset", h.descriptor_offset);
  f("descriptor_size", h.descriptor_size);
  f("num_gtes_per_gt", h.num_gtes_per_gt);
  f("rgd_offset", h.rgd_offset);
  f("gd_offset", h.gd_offset);
  f("overhead", h.overhead);
  f("unclean_shutdown", h.unclean_shutdown);
  f("single_end_line_char", h.single_end_line_char);
  f("non_end_line_char", h.non_end_line_char);
  f("double_end_line_char1", h.double_end_line_char1);
  f("double_end_line_char2", h.double_end_line_char2);
  f("compress_algorithm", h.compress_algorithm);
}

}  // namespace

const FieldInfo& sparse_header_field(std::string_view name) {
  return find_field(kSparseHeaderFields, name, "sparse header");
}

std::uint64_t SparseHeader::field(std::string_view name) const {
  return get_member(
      *this, name, [](auto& h, auto&& f) { sparse_members(h, f); }, "sparse header");
}

void SparseHeader::set_field(std::string_view name, std::uint64_t value) {
  set_member(
      *this, name, value, [](auto& h, auto&& f) { sparse_members(h, f); }, "sparse header");
}

bool has_kdmv_magic(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 4 && load_le32(bytes, 0) == kSparseMagic;
}

SparseHeader decode_sparse_header(std::span<const std::uint8_t> bytes) {
  SparseHeader header;
  for (const FieldInfo& field : kSparseHeaderFields) {
    std::uint64_t value =
        field.offset + field.size <= bytes.size() ? load_le(bytes, field.offset, field.size) : 0;
    header.set_field(field.name, value);
  }
  return header;
}

std::array<std::uint8_t, kSparseHeaderSize> encode_sparse_header(const SparseHeader& header) {
  std::array<std::uint8_t, kSparseHeaderSize> bytes{};
  for (const FieldInfo& field : kSparseHeaderFields) {
    store_le(bytes, field.offset, field.size, header.field(field.name));
  }
  return bytes;
}

}  // namespace vmdk::format
