// libFuzzer target: the hosted sparse (KDMV) header codec and its validation (vmdk-format.md 2.1,
// 2.2, 7.1). The input is the start of a KDMV file: header, embedded descriptor, grain directory.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "extent/sparse/kdmv_layout.hpp"
#include "extent/sparse/open_sparse.hpp"
#include "io/checked_math.hpp"
#include "format/endian.hpp"
#include "format/grain_directory.hpp"
#include "format/sparse_header.hpp"
#include "fuzz_support.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

using vmdk_fuzz::require;
namespace format = vmdk::format;

namespace {

// Bytes covered by the field table: everything after is pad that encode writes as zeros.
constexpr std::size_t kFieldBytes = 79;

void check_codec(std::span<const std::uint8_t> input) {
  if (input.size() < kFieldBytes) return;  // decode_sparse_header's precondition
  const format::SparseHeader header = format::decode_sparse_header(input);
  for (const format::FieldInfo& field : format::kSparseHeaderFields) {
    require(header.field(field.name) == format::load_le(input, field.offset, field.size),
            "decoded field differs from its bytes");
  }
  const auto encoded = format::encode_sparse_header(header);
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    require(encoded[i] == (i < kFieldBytes ? input[i] : 0), "encode(decode(bytes)) differs from the bytes");
  }
  require(format::decode_sparse_header(encoded) == header, "decode(encode(header)) differs from the header");
}

void check_layout(const vmdk::sparse::KdmvLayout& layout) {
  const format::SparseHeader& h = layout.effective;
  require(h.magic == format::kSparseMagic, "accepted without the magic");
  require(h.version >= 1 && h.version <= 3, "accepted an unknown version");
  require(vmdk::is_power_of_two(h.grain_size) && h.grain_size <= format::kMaxGrainSectors,
          "accepted a bad grain size");
  require(vmdk::is_power_of_two(h.num_gtes_per_gt) && h.num_gtes_per_gt >= format::kMinGtesPerGt &&
              h.num_gtes_per_gt <= format::kMaxGtesPerGt,
          "accepted a bad grain table size");
  require(layout.grain_bytes == h.grain_size * format::kSectorSize, "grain bytes");
  require(layout.capacity_bytes / format::kSectorSize == h.capacity, "capacity in bytes overflowed");
  const format::GrainGeometry& g = layout.geometry;
  require(g.num_gd_entries <= format::kMaxGdEntries, "accepted too many grain tables");
  require(vmdk::checked_mul(g.num_gd_entries, g.gt_coverage_sectors).value_or(0) >= h.capacity,
          "grain directory does not cover the capacity");
  require(layout.gd_byte_offset >= format::kSectorSize, "grain directory overlaps the header");
  const auto gd_end = vmdk::checked_add(layout.gd_byte_offset, g.num_gd_entries * 4);
  require(gd_end && *gd_end <= layout.file_size, "accepted a grain directory past the end of the file");
  require(layout.table_floor_sector >= 1 && layout.grain_floor_sector >= layout.table_floor_sector,
          "metadata floors out of order");
  require(!layout.footer || layout.compressed, "a footer on an uncompressed extent");
  require(!layout.markers || layout.compressed, "grain markers without compression");
  const format::SparseHeader& first = layout.header;
  if (first.descriptor_offset != 0) {
    const auto end =
        vmdk::checked_mul(first.descriptor_offset + first.descriptor_size, format::kSectorSize);
    require(end && *end <= layout.file_size, "accepted an embedded descriptor past the end of the file");
  }
}

void check_reader(std::span<const std::uint8_t> input) {
  auto file =
      std::make_shared<vmdk::MemoryFile>("fuzz.vmdk", std::vector<std::uint8_t>(input.begin(), input.end()));
  vmdk::sparse::KdmvLayout layout;
  try {
    layout = vmdk::sparse::load_kdmv_layout(*file);
  } catch (const vmdk::Error&) {
    return;
  }
  check_layout(layout);
  try {
    if (auto text = vmdk::sparse::read_embedded_descriptor(*file))
      (void)vmdk::Descriptor::parse(*text, "fuzz.vmdk");
  } catch (const vmdk::Error&) {
  }
  // The grain directory is loaded when the extent opens; ask for the first and the last run.
  try {
    auto extent = vmdk::sparse::open_sparse_extent(file, layout.capacity_bytes);
    if (extent->size() > 0) {
      const vmdk::Run first = extent->block_status(0, extent->size());
      require(first.offset == 0 && first.length > 0 && first.length <= extent->size(), "bad first run");
      const vmdk::Run last = extent->block_status(extent->size() - 1, 1);
      require(last.offset == extent->size() - 1 && last.length == 1, "bad last run");
    }
  } catch (const vmdk::Error&) {
  }
}

}  // namespace

// Properties: the codec round-trips bit for bit; a header that validates keeps the promises readers
// rely on (directory inside the file, powers of two, no overflow); only vmdk::Error escapes.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  check_codec(input);
  check_reader(input);
  return 0;
}
