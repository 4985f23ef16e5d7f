// In-memory KDMV / streamOptimized image builder for tests (vmdk-format.md 2.7, 3.4, 3.6).
#include "kdmv_builder.hpp"

#include <algorithm>
#include <stdexcept>

#include "format/endian.hpp"
#include "format/grain_directory.hpp"
#include "format/marker.hpp"
#include "format/zlib_codec.hpp"

namespace vmdk::test {

namespace {
constexpr std::uint64_t kSector = 512;

std::uint64_t sectors_for(std::uint64_t bytes) { return (bytes + kSector - 1) / kSector; }

// Byte image growing by whole sectors.
struct Writer {
  std::vector<std::uint8_t> bytes;
  void ensure(std::uint64_t size) {
    if (bytes.size() < size) bytes.resize(static_cast<std::size_t>(size));
  }
  void put(std::uint64_t offset, std::span<const std::uint8_t> data) {
    ensure(offset + data.size());
    std::copy(data.begin(), data.end(), bytes.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  std::uint64_t end_sector() const { return sectors_for(bytes.size()); }
};
}  // namespace

std::uint64_t KdmvImage::gte_offset(std::uint64_t grain_index) const {
  std::uint64_t table = grain_index / gtes_per_gt;
  if (table >= gt_sectors.size() || gt_sectors[table] == 0) throw std::logic_error("grain table not present");
  return gt_sectors[table] * kSector + (grain_index % gtes_per_gt) * 4;
}

void KdmvImage::poke(std::uint64_t offset, std::size_t size, std::uint64_t value) {
  format::store_le(bytes, static_cast<std::size_t>(offset), size, value);
}

void KdmvImage::poke_header(std::string_view field, std::uint64_t value, bool footer) {
  const auto& info = format::sparse_header_field(field);
  std::uint64_t base = footer ? footer_offset : 0;
  poke(base + info.offset, info.size, value);
}

std::shared_ptr<MemoryFile> KdmvImage::file(std::string name) const {
  return std::make_shared<MemoryFile>(std::move(name), bytes);
}

std::vector<std::uint8_t> pattern_bytes(std::size_t size, std::uint32_t seed) {
  std::vector<std::uint8_t> out(size);
  std::uint32_t x = seed * 2654435761u + 12345u;
  for (auto& b : out) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return out;
}

KdmvBuilder::KdmvBuilder(std::uint64_t capacity_sectors, KdmvKind kind) : capacity_(capacity_sectors), kind_(kind) {}

KdmvBuilder& KdmvBuilder::descriptor(std::string text, std::uint64_t sectors) {
  descriptor_ = std::move(text);
  descriptor_sectors_ = sectors;
  return *this;
}

KdmvBuilder& KdmvBuilder::grain(std::uint64_t index, std::vector<std::uint8_t> data) {
  grains_[index] = std::move(data);
  zeroed_.erase(index);
  return *this;
}

KdmvBuilder& KdmvBuilder::fill_grain(std::uint64_t index, std::uint8_t byte) {
  return grain(index, std::vector<std::uint8_t>(static_cast<std::size_t>(grain_sectors_ * kSector), byte));
}

KdmvBuilder& KdmvBuilder::zero_grain(std::uint64_t index) {
  grains_.erase(index);
  zeroed_[index] = true;
  return *this;
}

KdmvImage KdmvBuilder::build() const {
  const bool compressed = kind_ != KdmvKind::sparse;
  const bool markers = compressed && kind_ != KdmvKind::compressed_no_markers;
  const bool redundant = redundant_.value_or(kind_ == KdmvKind::sparse || kind_ == KdmvKind::stream_qemu);
  const std::uint64_t grain_bytes = grain_sectors_ * kSector;
  auto geo = format::grain_geometry(capacity_, grain_sectors_, gtes_per_gt_);

  format::SparseHeader h;
  h.capacity = capacity_;
  h.grain_size = grain_sectors_;
  h.num_gtes_per_gt = gtes_per_gt_;
  h.descriptor_offset = descriptor_sectors_ != 0 ? 1 : 0;
  h.descriptor_size = descriptor_sectors_;
  std::uint32_t flags = format::kFlagValidNewlineDetector | (redundant ? format::kFlagRedundantGd : 0u);
  if (!zeroed_.empty()) flags |= format::kFlagZeroedGrainGte;
  if (compressed) flags |= format::kFlagCompressed;
  if (markers) flags |= format::kFlagEmbeddedLba;
  h.flags = flags_.value_or(flags);
  h.version = version_.value_or(compressed ? 3u : (zeroed_.empty() ? 1u : 2u));
  h.compress_algorithm = compressed ? format::kCompressDeflate : format::kCompressNone;

  KdmvImage image;
  image.grain_sectors_per_grain = grain_sectors_;
  image.gtes_per_gt = gtes_per_gt_;
  Writer w;
  w.ensure(kSector);
  if (descriptor_sectors_ != 0) {
    std::vector<std::uint8_t> area(static_cast<std::size_t>(descriptor_sectors_ * kSector), 0);
    std::copy_n(descriptor_.begin(), std::min(descriptor_.size(), area.size()), area.begin());
    w.put(kSector, area);
  }
  std::uint64_t next = 1 + descriptor_sectors_;

  // In-memory grain tables (all tables exist in front-directory layouts).
  std::vector<std::vector<std::uint32_t>> tables(geo.num_gd_entries, std::vector<std::uint32_t>(gtes_per_gt_, 0));
  std::vector<bool> table_used(geo.num_gd_entries, false);
  for (auto& [index, on] : zeroed_) {
    tables[index / gtes_per_gt_][index % gtes_per_gt_] = format::kGteZeroed;
    table_used[index / gtes_per_gt_] = true;
  }

  const bool front = kind_ != KdmvKind::stream_footer;
  std::uint64_t rgd = 0, gd = 0;
  if (front) {
    if (redundant) {
      rgd = next;
      next += geo.gd_sectors + geo.num_gd_entries * geo.gt_sectors;
    }
    gd = next;
    next += geo.gd_sectors + geo.num_gd_entries * geo.gt_sectors;
    h.overhead = (kind_ == KdmvKind::stream_front || kind_ == KdmvKind::compressed_no_markers)
                     ? next
                     : (next + grain_sectors_ - 1) / grain_sectors_ * grain_sectors_;
    h.gd_offset = gd;
    h.rgd_offset = rgd;
  } else {
    h.overhead = (next + grain_sectors_ - 1) / grain_sectors_ * grain_sectors_;
    h.gd_offset = format::kGdAtEnd;
    h.rgd_offset = 0;
  }
  w.ensure(h.overhead * kSector);
  std::uint64_t cursor = h.overhead;

  auto write_grain = [&](std::uint64_t index, const std::vector<std::uint8_t>& given) {
    std::vector<std::uint8_t> data = given;
    if (!(compressed && compress_as_given_)) data.resize(static_cast<std::size_t>(grain_bytes), 0);
    std::uint64_t sector = cursor;
    if (!compressed) {
      w.put(sector * kSector, data);
      cursor += grain_sectors_;
    } else {
      if (progress_markers_ && markers) {
        w.put(cursor * kSector, format::encode_metadata_marker(0, format::MarkerType::progress));
        ++cursor;
        sector = cursor;
      }
      auto packed = format::deflate_grain(data, 6, raw_deflate_);
      std::vector<std::uint8_t> record;
      if (markers) {
        auto m = format::encode_grain_marker(index * grain_sectors_, static_cast<std::uint32_t>(packed.size()));
        record.assign(m.begin(), m.end());
      } else {
        record.resize(4);
        format::store_le32(record, 0, static_cast<std::uint32_t>(packed.size()));
      }
      record.insert(record.end(), packed.begin(), packed.end());
      record.resize(static_cast<std::size_t>(sectors_for(record.size()) * kSector), 0);
      w.put(sector * kSector, record);
      cursor = sector + sectors_for(record.size());
    }
    tables[index / gtes_per_gt_][index % gtes_per_gt_] = static_cast<std::uint32_t>(sector);
    table_used[index / gtes_per_gt_] = true;
    image.grain_sectors[index] = sector;
  };

  std::vector<std::uint64_t> gt_at(geo.num_gd_entries, 0);
  if (front) {
    for (auto& [index, data] : grains_) write_grain(index, data);
    for (std::uint64_t t = 0; t < geo.num_gd_entries; ++t) gt_at[t] = gd + geo.gd_sectors + t * geo.gt_sectors;
  } else {
    // Layout A: each table's grains, then its GT marker and table; empty tables are omitted.
    auto it = grains_.begin();
    for (std::uint64_t t = 0; t < geo.num_gd_entries; ++t) {
      for (; it != grains_.end() && it->first / gtes_per_gt_ == t; ++it) write_grain(it->first, it->second);
      if (!table_used[t]) continue;
      w.put(cursor * kSector, format::encode_metadata_marker(geo.gt_sectors, format::MarkerType::grain_table));
      gt_at[t] = cursor + 1;
      cursor += 1 + geo.gt_sectors;
    }
  }

  auto put_table = [&](std::uint64_t sector, const std::vector<std::uint32_t>& entries) {
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(sectors_for(entries.size() * 4) * kSector), 0);
    format::encode_u32_table(entries, bytes);
    w.put(sector * kSector, bytes);
  };
  std::vector<std::uint32_t> directory(geo.num_gd_entries, 0);
  for (std::uint64_t t = 0; t < geo.num_gd_entries; ++t) {
    if (gt_at[t] != 0) {
      directory[t] = static_cast<std::uint32_t>(gt_at[t]);
      put_table(gt_at[t], tables[t]);
    }
  }
  if (front) {
    put_table(gd, directory);
    if (redundant) {
      std::vector<std::uint32_t> rdirectory(geo.num_gd_entries, 0);
      for (std::uint64_t t = 0; t < geo.num_gd_entries; ++t) {
        rdirectory[t] = static_cast<std::uint32_t>(rgd + geo.gd_sectors + t * geo.gt_sectors);
        put_table(rdirectory[t], tables[t]);
      }
      put_table(rgd, rdirectory);
    }
  }

  image.gt_sectors = gt_at;
  image.gd_sector = front ? gd : 0;
  image.rgd_sector = rgd;
  if (kind_ == KdmvKind::stream_footer) {
    w.put(cursor * kSector, format::encode_metadata_marker(geo.gd_sectors, format::MarkerType::grain_directory));
    gd = cursor + 1;
    put_table(gd, directory);
    cursor = gd + geo.gd_sectors;
    w.put(cursor * kSector, format::encode_metadata_marker(1, format::MarkerType::footer));
    format::SparseHeader footer = h;
    footer.gd_offset = gd;
    w.put((cursor + 1) * kSector, format::encode_sparse_header(footer));
    w.put((cursor + 2) * kSector, format::encode_metadata_marker(0, format::MarkerType::eos));
    image.footer_offset = (cursor + 1) * kSector;
    image.gd_sector = gd;
  } else if (kind_ == KdmvKind::stream_front) {
    w.put(cursor * kSector, format::encode_metadata_marker(0, format::MarkerType::eos));
  } else if (kind_ == KdmvKind::stream_qemu) {
    w.ensure((w.end_sector() + grain_sectors_ - 1) / grain_sectors_ * grain_sectors_ * kSector);
  }
  w.put(0, format::encode_sparse_header(h));
  w.ensure(w.end_sector() * kSector);
  image.header = h;
  image.bytes = std::move(w.bytes);
  return image;
}

}  // namespace vmdk::test
