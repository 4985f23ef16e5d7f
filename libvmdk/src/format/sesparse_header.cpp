// SESparse constant and volatile header codecs (vmdk-format.md 4.3.1, 4.3.2): decode/encode through
// the field tables, plus the zero-pad check QEMU applies to both.
#include "format/sesparse_header.hpp"

#include <algorithm>
#include <string>

#include "format/endian.hpp"
#include "format/field_table.hpp"
#include "vmdk/error.hpp"

namespace vmdk::format {

namespace {

// The member holding each field, in table order (keeps field()/set_field() table-driven).
template <typename H, typename F>
void sesparse_members(H& h, F&& f) {
  f("magic", h.magic);
  f("version", h.version);
  f("capacity", h.capacity);
  f("grain_size", h.grain_size);
  f("grain_table_size", h.grain_table_size);
  f("flags", h.flags);
  f("reserved1", h.reserved1);
  f("reserved2", h.reserved2);
  f("reserved3", h.reserved3);
  f("reserved4", h.reserved4);
  f("volatile_header_offset", h.volatile_header_offset);
  f("volatile_header_size", h.volatile_header_size);
  f("journal_header_offset", h.journal_header_offset);
  f("journal_header_size", h.journal_header_size);
  f("journal_offset", h.journal_offset);
  f("journal_size", h.journal_size);
  f("grain_dir_offset", h.grain_dir_offset);
  f("grain_dir_size", h.grain_dir_size);
  f("grain_tables_offset", h.grain_tables_offset);
  f("grain_tables_size", h.grain_tables_size);
  f("free_bitmap_offset", h.free_bitmap_offset);
  f("free_bitmap_size", h.free_bitmap_size);
  f("backmap_offset", h.backmap_offset);
  f("backmap_size", h.backmap_size);
  f("grains_offset", h.grains_offset);
  f("grains_size", h.grains_size);
}

template <typename H, typename F>
void for_each_volatile_member(H& h, F&& f) {
  f("magic", h.magic);
  f("free_gt_number", h.free_gt_number);
  f("next_txn_seq_number", h.next_txn_seq_number);
  f("replay_journal", h.replay_journal);
}

constexpr const char* kConstant = "SESparse header";
constexpr const char* kVolatile = "SESparse volatile header";

auto walk_constant = [](auto& h, auto&& f) { sesparse_members(h, f); };
auto walk_volatile = [](auto& h, auto&& f) { for_each_volatile_member(h, f); };

// True when bytes [offset, 512) of the structure (as far as the span reaches) are all zero.
bool zero_from(std::span<const std::uint8_t> bytes, std::size_t offset) {
  const std::size_t end = std::min(kSesparseHeaderSize, bytes.size());
  if (offset >= end) return true;
  auto rest = bytes.subspan(offset, end - offset);
  return std::all_of(rest.begin(), rest.end(), [](std::uint8_t b) { return b == 0; });
}

// A short input decodes as if padded with zeros (a field it holds only partly keeps those bytes).
template <typename H, std::size_t N>
void decode_into(H& h, std::span<const std::uint8_t> input, const std::array<FieldInfo, N>& table) {
  std::array<std::uint8_t, kSesparseHeaderSize> bytes{};
  std::copy_n(input.begin(), std::min(input.size(), bytes.size()), bytes.begin());
  for (const FieldInfo& field : table) h.set_field(field.name, load_le(bytes, field.offset, field.size));
}

template <typename H, std::size_t N>
std::array<std::uint8_t, kSesparseHeaderSize> encode_from(const H& h, const std::array<FieldInfo, N>& table) {
  std::array<std::uint8_t, kSesparseHeaderSize> bytes{};
  for (const FieldInfo& field : table) store_le(bytes, field.offset, field.size, h.field(field.name));
  return bytes;
}

}  // namespace

const FieldInfo& sesparse_header_field(std::string_view name) {
  return find_field(kSesparseHeaderFields, name, kConstant);
}

const FieldInfo& sesparse_volatile_field(std::string_view name) {
  return find_field(kSesparseVolatileFields, name, kVolatile);
}

std::uint64_t SesparseHeader::field(std::string_view name) const {
  return get_member(*this, name, walk_constant, kConstant);
}
void SesparseHeader::set_field(std::string_view name, std::uint64_t value) {
  set_member(*this, name, value, walk_constant, kConstant);
}

std::uint64_t SesparseVolatileHeader::field(std::string_view name) const {
  return get_member(*this, name, walk_volatile, kVolatile);
}
void SesparseVolatileHeader::set_field(std::string_view name, std::uint64_t value) {
  set_member(*this, name, value, walk_volatile, kVolatile);
}

bool has_sesparse_magic(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 8 && load_le64(bytes, 0) == kSesparseMagic;
}

SesparseHeader decode_sesparse_header(std::span<const std::uint8_t> bytes) {
  SesparseHeader header;
  decode_into(header, bytes, kSesparseHeaderFields);
  header.pad_zero = zero_from(bytes, kSesparsePadOffset);
  return header;
}

SesparseVolatileHeader decode_sesparse_volatile_header(std::span<const std::uint8_t> bytes) {
  SesparseVolatileHeader header;
  decode_into(header, bytes, kSesparseVolatileFields);
  header.pad_zero = zero_from(bytes, kSesparseVolatilePadOffset);
  return header;
}

std::array<std::uint8_t, kSesparseHeaderSize> encode_sesparse_header(const SesparseHeader& header) {
  return encode_from(header, kSesparseHeaderFields);
}

std::array<std::uint8_t, kSesparseHeaderSize> encode_sesparse_volatile_header(
    const SesparseVolatileHeader& header) {
  return encode_from(header, kSesparseVolatileFields);
}

}  // namespace vmdk::format
