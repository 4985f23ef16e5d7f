// Salvage of a streamOptimized file whose footer is gone (vmdk-format.md 3.2, 3.5 "sequential
// access", 3.6): grain records found by a marker scan get new tables, directory, footer and EOS.
// A record the cut went through is kept in place: the new tail is written after the old end.
#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "io/checked_math.hpp"
#include "format/grain_directory.hpp"
#include "format/marker.hpp"
#include "format/sparse_header.hpp"
#include "format/zlib_codec.hpp"
#include "extent/sparse/sparse_repair.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

namespace {

using format::kSectorSize;
using format::MarkerType;

// A metadata marker claiming more sectors than this is garbage, not a table.
constexpr std::uint64_t kMaxMetadataSectors = 1u << 20;

format::SparseHeader usable_header(const ByteSource& file) {
  const std::string& name = file.name();
  std::array<std::uint8_t, format::kSparseHeaderSize> bytes{};
  read_exact(file, 0, bytes, "sparse header");
  const format::SparseHeader h = format::decode_sparse_header(bytes);
  auto fail = [&](const char* field, const std::string& why) -> format::SparseHeader {
    throw FormatError(name, "cannot salvage the stream: sparse header " + why,
                      format::sparse_header_field(field).offset);
  };
  if (h.magic != format::kSparseMagic) return fail("magic", "has no KDMV magic");
  if (h.gd_offset != format::kGdAtEnd) {
    throw UnsupportedError(name, "cannot salvage a stream whose grain directory is not at the end",
                           format::sparse_header_field("gd_offset").offset);
  }
  if (!vmdk::is_power_of_two(h.grain_size) || h.grain_size > format::kMaxGrainSectors) {
    return fail("grain_size", "grain size " + hex(h.grain_size) + " is out of range");
  }
  if (!vmdk::is_power_of_two(h.num_gtes_per_gt) || h.num_gtes_per_gt < format::kMinGtesPerGt ||
      h.num_gtes_per_gt > format::kMaxGtesPerGt) {
    return fail("num_gtes_per_gt", "grain table size is out of range");
  }
  if (h.capacity == 0 || h.capacity > (1ull << 53) ||
      format::grain_geometry(h.capacity, h.grain_size, h.num_gtes_per_gt).num_gd_entries > format::kMaxGdEntries) {
    return fail("capacity", "capacity " + hex(h.capacity) + " is out of range");
  }
  if (h.overhead == 0 || h.overhead >= (1ull << 32) || h.overhead * kSectorSize > file.size()) {
    return fail("overhead", "overhead " + hex(h.overhead) + " is out of range");
  }
  return h;
}

// What a marker scan of the stream found: its whole grain records, and where it stopped.
struct SalvageWalk {
  std::map<std::uint64_t, std::uint32_t> grains;  // lba -> sector of its record
  std::uint64_t pos = 0;           // where the scan stopped
  std::uint64_t cut = 0;           // end of the last whole grain record (sector aligned)
  bool clean_end = false;          // an end-of-stream marker was reached
  std::uint64_t last_lba_end = 0;  // sectors: end of the last whole grain
  std::optional<format::Marker> broken;  // the grain record the scan stopped at
};

// A grain record at pos whose marker m is sound: it lies inside the file, follows the previous
// one in LBA order and its data inflates to one grain.
bool salvage_record_sound(const ByteSource& file, const format::SparseHeader& h, std::uint64_t pos,
                          const format::Marker& m, std::uint64_t last_lba_end, std::vector<std::uint8_t>& grain) {
  const std::uint64_t grain_bytes = h.grain_size * kSectorSize;
  const std::uint64_t end = pos + format::kGrainMarkerHeaderSize + m.size;
  if (end > file.size() || m.value % h.grain_size != 0 || m.value >= h.capacity || m.value < last_lba_end ||
      m.size > grain_bytes * 2 + 1024) {
    return false;
  }
  std::vector<std::uint8_t> record(m.size);
  read_exact(file, pos + format::kGrainMarkerHeaderSize, record, "grain record");
  return format::inflate_grain(record, grain).ok();  // not ok: the cut went through it, or it is damaged
}

// Walks the stream's markers from overHead: every whole grain record until a broken one, the end of
// the stream or the end of the file.
SalvageWalk walk_stream_records(const ByteSource& file, const format::SparseHeader& h) {
  const std::uint64_t size = file.size();
  std::vector<std::uint8_t> grain(static_cast<std::size_t>(h.grain_size * kSectorSize));
  SalvageWalk walk;
  walk.pos = h.overhead * kSectorSize;
  walk.cut = walk.pos;
  while (walk.pos + kSectorSize <= size) {
    std::array<std::uint8_t, kSectorSize> sector{};
    read_exact(file, walk.pos, sector, "stream marker");
    const format::Marker m = format::decode_marker(sector);
    if (m.is_grain()) {
      if (!salvage_record_sound(file, h, walk.pos, m, walk.last_lba_end, grain)) {
        walk.broken = m;
        break;
      }
      walk.grains[m.value] = static_cast<std::uint32_t>(walk.pos / kSectorSize);
      walk.last_lba_end = m.value + h.grain_size;
      walk.pos = vmdk::div_round_up(walk.pos + format::kGrainMarkerHeaderSize + m.size, kSectorSize) * kSectorSize;
      walk.cut = walk.pos;
      continue;
    }
    if (m.type == static_cast<std::uint32_t>(MarkerType::eos)) {
      walk.clean_end = true;
      break;
    }
    if (m.type == static_cast<std::uint32_t>(MarkerType::progress)) {
      walk.pos += kSectorSize;
      continue;
    }
    if (m.type > static_cast<std::uint32_t>(MarkerType::footer) || m.value > kMaxMetadataSectors) break;
    walk.pos += (1 + m.value) * kSectorSize;  // an old table, directory or footer: rebuilt below
  }
  return walk;
}

// The new tail written at cut: per table with grains a GT marker and the table, then the
// directory, footer and EOS.
std::vector<std::uint8_t> salvage_tail(const format::SparseHeader& h,
                                       const std::map<std::uint64_t, std::uint32_t>& grains, std::uint64_t cut) {
  const auto geometry = format::grain_geometry(h.capacity, h.grain_size, h.num_gtes_per_gt);
  const std::uint64_t gt_bytes = geometry.gt_sectors * kSectorSize;
  std::vector<std::uint32_t> directory(static_cast<std::size_t>(geometry.num_gd_entries), 0);
  std::vector<std::uint8_t> tail;
  auto append = [&](std::span<const std::uint8_t> bytes) { tail.insert(tail.end(), bytes.begin(), bytes.end()); };
  const std::uint64_t coverage = geometry.gt_coverage_sectors;
  for (auto it = grains.begin(); it != grains.end();) {
    const std::uint64_t index = it->first / coverage;
    std::vector<std::uint32_t> table(static_cast<std::size_t>(geometry.gtes_per_gt), 0);
    for (; it != grains.end() && it->first / coverage == index; ++it) {
      table[static_cast<std::size_t>((it->first % coverage) / h.grain_size)] = it->second;
    }
    append(format::encode_metadata_marker(geometry.gt_sectors, MarkerType::grain_table));
    directory[static_cast<std::size_t>(index)] = static_cast<std::uint32_t>((cut + tail.size()) / kSectorSize);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(gt_bytes), 0);
    format::encode_u32_table(table, bytes);
    append(bytes);
  }
  append(format::encode_metadata_marker(geometry.gd_sectors, MarkerType::grain_directory));
  format::SparseHeader footer = h;
  footer.gd_offset = (cut + tail.size()) / kSectorSize;
  std::vector<std::uint8_t> dir_bytes(static_cast<std::size_t>(geometry.gd_sectors * kSectorSize), 0);
  format::encode_u32_table(directory, dir_bytes);
  append(dir_bytes);
  append(format::encode_metadata_marker(1, MarkerType::footer));
  append(format::encode_sparse_header(footer));
  append(format::encode_metadata_marker(0, MarkerType::eos));
  return tail;
}

}  // namespace

void plan_stream_salvage(const std::filesystem::path& path, const ByteSource& file, const std::string& disk,
                         std::uint64_t slot_start, std::uint64_t slot_length, extent::RepairPlan& plan) {
  const format::SparseHeader h = usable_header(file);
  const std::uint64_t size = file.size();
  const std::uint64_t grain_bytes = h.grain_size * kSectorSize;
  const SalvageWalk walk = walk_stream_records(file, h);
  std::uint64_t cut = walk.cut;
  // A grain record the end of the file cut through (or a damaged one) is not provably garbage: it
  // and everything after it stay, kept and listed, and the new tail goes after the old end.
  if (walk.broken) {
    KeptGrain k{path.string(), walk.pos, size - walk.pos, disk, std::nullopt, 0,
                "a grain record of the cut-short stream that cannot be read whole (marker LBA " +
                    hex(walk.broken->value) + ") and the bytes after it",
                {}};
    if (walk.broken->value < h.capacity) {
      k.virtual_offset = slot_start + walk.broken->value * kSectorSize;
      k.virtual_length = std::min(grain_bytes, h.capacity * kSectorSize - walk.broken->value * kSectorSize);
    }
    plan.kept.push_back(std::move(k));
    cut = vmdk::div_round_up(size, kSectorSize) * kSectorSize;
  }
  const std::vector<std::uint8_t> tail = salvage_tail(h, walk.grains, cut);
  plan.metadata.push_back({path, cut, tail});
  plan.truncations.emplace_back(path, cut + tail.size());
  plan.actions.push_back({"stream_footer_invalid", path.string(), cut,
                          "salvaged the stream: " + std::to_string(walk.grains.size()) +
                              " whole grains kept, new grain tables, directory, footer and end-of-stream marker "
                              "written at " + hex(cut)});
  const std::uint64_t lost_from = walk.last_lba_end * kSectorSize;
  if (!walk.clean_end && lost_from < slot_length) {
    plan.lost.push_back({disk, slot_start + lost_from, slot_length - lost_from,
                         "past the last whole grain of the cut-short stream (grains after it are gone)"});
  }
}

}  // namespace vmdk::sparse
