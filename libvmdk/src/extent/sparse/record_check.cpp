// RecordChecker: the same checks StreamExtent makes when it reads a grain, made without throwing so
// that check reports every damaged record (vmdk-format.md 3.2, 3.3).
#include "extent/sparse/record_check.hpp"

#include <algorithm>
#include <array>

#include "format/marker.hpp"
#include "format/zlib_codec.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

RecordProblem RecordChecker::check(std::uint64_t start, std::uint64_t grain_offset, std::uint64_t grain_bytes) {
  using format::kSectorSize;
  const std::uint64_t size = layout_.file_size;
  std::array<std::uint8_t, format::kGrainMarkerHeaderSize> head{};
  const std::size_t head_size = layout_.markers ? head.size() : format::kNoMarkerLengthSize;
  read_exact(file_, start, std::span(head).first(head_size), "grain record");
  const format::Marker marker = format::decode_marker(head);
  const std::uint64_t length = layout_.markers ? marker.size : marker.value & 0xffffffffu;
  if (layout_.markers && marker.value != grain_offset / kSectorSize) {
    return {RecordProblem::Kind::record,
            "its marker has lba " + hex(marker.value) + " but the entry expects " + hex(grain_offset / kSectorSize)};
  }
  if (length == 0) return {RecordProblem::Kind::record, "its record has no compressed bytes (size 0)"};
  // The bound the reader applies: a stored zlib grain is a little larger than the grain.
  if (length > 2 * layout_.grain_bytes + 1024 || start + head_size + length > size) {
    return {RecordProblem::Kind::record, "its record claims " + hex(length) + " bytes, which end past end of file (" +
                                             hex(size) + ") or exceed two grains"};
  }
  compressed_.resize(static_cast<std::size_t>(length));
  read_exact(file_, start + head_size, compressed_, "compressed grain");
  grain_.resize(static_cast<std::size_t>(std::min(grain_bytes, layout_.grain_bytes)));
  const format::InflateResult result =
      format::inflate_grain(compressed_, grain_, static_cast<std::size_t>(layout_.grain_bytes));
  if (!result.ok()) return {RecordProblem::Kind::data, result.error};
  return {};
}

}  // namespace vmdk::sparse
