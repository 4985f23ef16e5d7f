// Compressed grain records of stream / compressed sparse extents (vmdk-format.md 2.12, 3.2, 3.3, 3.5).
#include "extent/stream/stream_extent.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "extent/field_display.hpp"
#include "format/endian.hpp"
#include "format/marker.hpp"
#include "format/zlib_codec.hpp"
#include "vmdk/error.hpp"

namespace vmdk::stream {

namespace {
std::string where(std::uint64_t gd_index, std::uint64_t entry) {
  return "grain table " + std::to_string(gd_index) + " entry " + std::to_string(entry);
}
}  // namespace

StreamExtent::Record StreamExtent::read_record(const Piece& p) const {
  const std::string& name = layout_.name;
  Record record;
  std::uint64_t header_size;
  if (layout_.markers) {
    header_size = format::kGrainMarkerHeaderSize;
    std::array<std::uint8_t, format::kGrainMarkerHeaderSize> bytes{};
    read_exact(*file_, p.host, bytes, "grain marker");
    format::Marker marker = format::decode_marker(bytes);
    if (marker.size == 0) {
      throw FormatError(name, where(p.gd_index, p.gt_entry) + " points at a metadata marker at " +
                                  hex(p.host) + ", not a grain", p.host);
    }
    std::uint64_t expected_lba = p.grain_offset / 512;
    if (marker.value != expected_lba) {
      throw FormatError(name, "grain marker at " + hex(p.host) + " has lba " + hex(marker.value) + " but " +
                                  where(p.gd_index, p.gt_entry) + " expects " + hex(expected_lba),
                        p.host);
    }
    record.size = marker.size;
  } else {
    header_size = format::kNoMarkerLengthSize;
    std::array<std::uint8_t, format::kNoMarkerLengthSize> bytes{};
    read_exact(*file_, p.host, bytes, "compressed grain length");
    record.size = format::load_le32(bytes, 0);
    if (record.size == 0) {
      throw FormatError(name, "compressed grain at " + hex(p.host) + " has length 0", p.host);
    }
  }
  // A stored (incompressible) zlib grain is a little larger than the grain; anything beyond two
  // grains is damage (VirtualBox uses the same bound).
  const std::uint64_t limit = 2 * layout_.grain_bytes + 1024;
  if (record.size > limit) {
    throw FormatError(name, "compressed grain at " + hex(p.host) + " claims " + hex(record.size) +
                                " bytes (more than " + hex(limit) + ")", p.host);
  }
  record.data_offset = p.host + header_size;
  std::uint64_t end = record.data_offset + record.size;
  if (end > layout_.file_size) {
    throw FormatError(name, "compressed grain at " + hex(p.host) + " for " + where(p.gd_index, p.gt_entry) +
                                " ends past end of file (" + hex(end) + " > " + hex(layout_.file_size) + ")",
                      p.host);
  }
  return record;
}

std::shared_ptr<const std::vector<std::uint8_t>> StreamExtent::grain(const Piece& p) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    // The record was checked for the grain it was read for: another entry naming the same record
    // (a table entry pointing at another grain's marker) must meet the marker check itself.
    if (cached_host_ == p.host && cached_grain_offset_ == p.grain_offset && cached_grain_) return cached_grain_;
  }
  Record record = read_record(p);
  std::vector<std::uint8_t> compressed(record.size);
  read_exact(*file_, record.data_offset, compressed, "compressed grain");
  // Keep only the part of the grain inside the mapped range, and never more than deflate can
  // expand the record to (1032:1): a damaged grain size cannot make us allocate a gigabyte.
  const std::uint64_t keep = std::min(layout_.grain_bytes, mapped_bytes_ - p.grain_offset);
  const std::uint64_t expandable = std::uint64_t{record.size} * 1032 + 1024;
  auto data = std::make_shared<std::vector<std::uint8_t>>(static_cast<std::size_t>(std::min(keep, expandable)));
  format::InflateResult result =
      format::inflate_grain(compressed, *data, static_cast<std::size_t>(layout_.grain_bytes));
  if (result.ok() && result.total > data->size() && data->size() < keep) {
    result.error = "decompresses beyond what deflate can encode in " + std::to_string(record.size) + " bytes";
  }
  if (!result.ok()) {
    throw FormatError(layout_.name, "compressed grain at " + hex(p.host) + " for " +
                                        where(p.gd_index, p.gt_entry) + ": " + result.error, p.host);
  }
  // A short stream (the last grain of an unaligned capacity) reads as zeros past its end.
  std::fill(data->begin() + static_cast<std::ptrdiff_t>(result.produced), data->end(), std::uint8_t{0});
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cached_host_ = p.host;
  cached_grain_offset_ = p.grain_offset;
  cached_grain_ = data;
  return data;
}

void StreamExtent::read_compressed(const Piece& p, std::span<std::uint8_t> out) const {
  auto data = grain(p);
  const std::size_t from = static_cast<std::size_t>(p.offset - p.grain_offset);
  const std::size_t have = data->size() > from ? std::min(out.size(), data->size() - from) : 0;
  std::memcpy(out.data(), data->data() + from, have);
  std::memset(out.data() + have, 0, out.size() - have);
}

ExtentDetails StreamExtent::details() const {
  ExtentDetails d;
  d.format = "stream";
  d.header = header_fields();
  extent::set_default_field_display(d);
  d.grain_size = layout_.grain_bytes;
  const std::uint64_t header_size = layout_.markers ? format::kGrainMarkerHeaderSize : format::kNoMarkerLengthSize;
  // Each distinct grain record once, however many entries name it (see for_each_distinct_grain).
  d.allocated_bytes = allocated_bytes_once([&] {
    std::uint64_t bytes = 0;
    for_each_distinct_grain([&](const Piece& p) {
      Record record = read_record(p);
      bytes += (header_size + record.size + 511) / 512 * 512;
    });
    return std::min(bytes, layout_.file_size);
  });
  return d;
}

}  // namespace vmdk::stream
