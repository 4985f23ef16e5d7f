// ESXi delta extent builders for tests: COWD (vmdk-format.md 4.2.1, 4.2.2) and SESparse (4.3.1 -
// 4.3.3), laid out as the reference describes ESXi doing it.
#include "esxi_builder.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <stdexcept>

#include "format/endian.hpp"

namespace vmdk::test {

namespace {

constexpr std::uint64_t kSector = 512;

std::uint64_t sectors_for(std::uint64_t bytes) {
  return (bytes + kSector - 1) / kSector;
}

void put(std::vector<std::uint8_t>& bytes, std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (bytes.size() < offset + data.size()) bytes.resize(static_cast<std::size_t>(offset + data.size()));
  std::copy(data.begin(), data.end(), bytes.begin() + static_cast<std::ptrdiff_t>(offset));
}

// The grains in the order they were first added, each with its last content.
std::vector<std::pair<std::uint64_t, EsxiGrain>> final_order(
    const std::vector<std::pair<std::uint64_t, EsxiGrain>>& order) {
  std::vector<std::pair<std::uint64_t, EsxiGrain>> out;
  for (const auto& [index, grain] : order) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == index; });
    if (it == out.end()) {
      out.emplace_back(index, grain);
    } else {
      it->second = grain;
    }
  }
  return out;
}

}  // namespace

std::uint64_t EsxiImage::gte_offset(std::uint64_t grain_index) const {
  const std::uint64_t table = grain_index / gtes_per_gt;
  if (table >= gt_byte_offsets.size() || gt_byte_offsets[table] == 0)
    throw std::logic_error("no grain table");
  return gt_byte_offsets[table] + (grain_index % gtes_per_gt) * entry_size;
}

void EsxiImage::poke(std::uint64_t offset, std::size_t size, std::uint64_t value) {
  format::store_le(bytes, static_cast<std::size_t>(offset), size, value);
}

std::uint64_t EsxiImage::peek(std::uint64_t offset, std::size_t size) const {
  return format::load_le(bytes, static_cast<std::size_t>(offset), size);
}

void EsxiImage::apply(std::vector<std::uint8_t>& disk) const {
  for (const auto& [index, grain] : grains) {
    const auto at = static_cast<std::size_t>(index * grain_bytes);
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(grain_bytes, disk.size() - at));
    if (grain.kind == EsxiGrain::Kind::data) {
      std::copy_n(grain.bytes.begin(), n, disk.begin() + static_cast<std::ptrdiff_t>(at));
    } else {
      std::fill_n(disk.begin() + static_cast<std::ptrdiff_t>(at), n, std::uint8_t{0});
    }
  }
}

std::shared_ptr<MemoryFile> EsxiImage::file(std::string name) const {
  return std::make_shared<MemoryFile>(std::move(name), bytes);
}

void EsxiImage::write(const std::filesystem::path& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// --- COWD -------------------------------------------------------------------------------------------

CowdBuilder::CowdBuilder(std::uint32_t capacity_sectors, std::uint32_t grain_sectors)
    : capacity_(capacity_sectors), grain_sectors_(grain_sectors) {}

CowdBuilder& CowdBuilder::grain(std::uint64_t index, std::vector<std::uint8_t> data) {
  data.resize(static_cast<std::size_t>(grain_sectors_ * kSector));
  order_.emplace_back(index, EsxiGrain{EsxiGrain::Kind::data, std::move(data)});
  return *this;
}

CowdBuilder& CowdBuilder::fill_grain(std::uint64_t index, std::uint8_t byte) {
  return grain(index, std::vector<std::uint8_t>(static_cast<std::size_t>(grain_sectors_ * kSector), byte));
}

CowdBuilder& CowdBuilder::zero_grain(std::uint64_t index) {
  order_.emplace_back(index, EsxiGrain{EsxiGrain::Kind::zero, {}});
  return *this;
}

EsxiImage CowdBuilder::build() const {
  EsxiImage image;
  image.grain_bytes = grain_sectors_ * kSector;
  image.entry_size = 4;
  const std::uint64_t coverage = std::uint64_t{grain_sectors_} * 4096;
  const std::uint64_t gd_entries = (capacity_ + coverage - 1) / coverage;
  const std::uint64_t gd_sectors = sectors_for(gd_entries * 4);
  image.gd_byte_offset = 4 * kSector;
  image.gt_byte_offsets.assign(static_cast<std::size_t>(gd_entries), 0);
  std::uint64_t free_sector = 4 + gd_sectors;
  image.bytes.assign(static_cast<std::size_t>(free_sector * kSector), 0);
  for (const auto& [index, grain] : final_order(order_)) {
    const std::uint64_t table = index / 4096;
    if (image.gt_byte_offsets.at(table) == 0) {
      // Appended on demand, just before the first grain of its range.
      image.gt_byte_offsets[table] = free_sector * kSector;
      image.poke(image.gde_offset(table), 4, free_sector);
      image.bytes.resize(static_cast<std::size_t>((free_sector + 32) * kSector), 0);
      free_sector += 32;
    }
    std::uint64_t gte = 1;
    if (grain.kind == EsxiGrain::Kind::data) {
      gte = free_sector;
      put(image.bytes, free_sector * kSector, grain.bytes);
      image.grain_byte_offsets[index] = free_sector * kSector;
      free_sector += grain_sectors_;
    }
    image.poke(image.gte_offset(index), 4, gte);
    image.grains[index] = grain;
  }
  format::CowdHeader h;
  h.num_sectors = capacity_;
  h.grain_size = grain_sectors_;
  h.gd_offset = 4;
  h.num_gd_entries = static_cast<std::uint32_t>(gd_entries);
  h.free_sector = static_cast<std::uint32_t>(free_sector);
  const auto header = format::encode_cowd_header(h);
  put(image.bytes, 0, header);
  return image;
}

void poke_cowd_header(EsxiImage& image, std::string_view field, std::uint64_t value) {
  const auto& info = format::cowd_header_field(field);
  image.poke(info.offset, info.size, value);
}

// --- SESparse ---------------------------------------------------------------------------------------

std::uint64_t sesparse_allocated_entry(std::uint64_t index) {
  return 0x3000000000000000ull | ((index & 0xfff) << 48) | (index >> 12);
}

SesparseBuilder::SesparseBuilder(std::uint64_t capacity_sectors) : capacity_(capacity_sectors) {}

SesparseBuilder& SesparseBuilder::grain(std::uint64_t index, std::vector<std::uint8_t> data,
                                        std::optional<std::uint64_t> slot) {
  data.resize(4096);
  order_.emplace_back(index, EsxiGrain{EsxiGrain::Kind::data, std::move(data)});
  if (slot) slots_[index] = *slot;
  return *this;
}

SesparseBuilder& SesparseBuilder::fill_grain(std::uint64_t index, std::uint8_t byte) {
  return grain(index, std::vector<std::uint8_t>(4096, byte));
}

SesparseBuilder& SesparseBuilder::zero_grain(std::uint64_t index) {
  order_.emplace_back(index, EsxiGrain{EsxiGrain::Kind::zero, {}});
  return *this;
}

SesparseBuilder& SesparseBuilder::unmapped_grain(std::uint64_t index) {
  order_.emplace_back(index, EsxiGrain{EsxiGrain::Kind::unmapped, {}});
  return *this;
}

EsxiImage SesparseBuilder::build() const {
  EsxiImage image;
  image.grain_bytes = 4096;
  image.entry_size = 8;
  const auto grains = final_order(order_);
  const std::uint64_t gd_entries = (capacity_ + 32767) / 32768;
  std::set<std::uint64_t> tables;
  for (const auto& g : grains) tables.insert(g.first / 4096);
  format::SesparseHeader h;
  h.capacity = capacity_;
  h.volatile_header_offset = 1;
  h.volatile_header_size = 1;
  h.journal_header_offset = 2;
  h.journal_header_size = 2;
  h.journal_offset = 4;
  h.journal_size = 4;
  h.grain_dir_offset = 8;
  h.grain_dir_size = std::max<std::uint64_t>(1, sectors_for(gd_entries * 8));
  h.grain_tables_offset = h.grain_dir_offset + h.grain_dir_size;
  h.grain_tables_size = 64 * std::max<std::uint64_t>(1, tables.size());
  h.free_bitmap_offset = h.grain_tables_offset + h.grain_tables_size;
  h.free_bitmap_size = 1;
  h.backmap_offset = h.free_bitmap_offset + 1;
  h.backmap_size = 1;
  h.grains_offset = h.backmap_offset + 1;
  h.grains_size = capacity_;  // what ESXi writes (4.3.1)
  image.gd_byte_offset = h.grain_dir_offset * kSector;
  image.volatile_byte_offset = kSector;
  image.gt_byte_offsets.assign(static_cast<std::size_t>(gd_entries), 0);
  image.bytes.assign(static_cast<std::size_t>(h.grains_offset * kSector), 0);

  std::set<std::uint64_t> taken;
  for (const auto& [index, slot] : slots_) taken.insert(slot);
  std::uint64_t next_table = 0;
  std::uint64_t next_slot = 0;
  for (const auto& [index, grain] : grains) {
    const std::uint64_t gd = index / 4096;
    if (image.gt_byte_offsets.at(gd) == 0) {
      // Tables are taken from the region in allocation order, not in LBA order (4.3.3).
      image.gt_byte_offsets[gd] = (h.grain_tables_offset + next_table * 64) * kSector;
      image.poke(image.gde_offset(gd), 8, 0x1000000000000000ull | next_table);
      ++next_table;
    }
    std::uint64_t entry = 0;
    if (grain.kind == EsxiGrain::Kind::data) {
      std::uint64_t slot;
      if (auto it = slots_.find(index); it != slots_.end()) {
        slot = it->second;
      } else {
        while (taken.count(next_slot) != 0) ++next_slot;
        slot = next_slot++;
      }
      const std::uint64_t at = (h.grains_offset + slot * 8) * kSector;
      put(image.bytes, at, grain.bytes);
      image.grain_byte_offsets[index] = at;
      entry = sesparse_allocated_entry(slot);
    } else {
      entry = grain.kind == EsxiGrain::Kind::zero ? 0x2000000000000000ull : 0x1000000000000000ull;
    }
    image.poke(image.gte_offset(index), 8, entry);
    image.grains[index] = grain;
  }
  put(image.bytes, 0, format::encode_sesparse_header(h));
  format::SesparseVolatileHeader v;
  v.free_gt_number = next_table;
  put(image.bytes, image.volatile_byte_offset, format::encode_sesparse_volatile_header(v));
  return image;
}

void poke_sesparse_header(EsxiImage& image, std::string_view field, std::uint64_t value) {
  const auto& info = format::sesparse_header_field(field);
  image.poke(info.offset, info.size, value);
}

void poke_sesparse_volatile(EsxiImage& image, std::string_view field, std::uint64_t value) {
  const auto& info = format::sesparse_volatile_field(field);
  image.poke(image.volatile_byte_offset + info.offset, info.size, value);
}

}  // namespace vmdk::test
