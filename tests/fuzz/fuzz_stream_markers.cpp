// libFuzzer target: the streamOptimized codecs (vmdk-format.md 3): markers, footer and end-of-stream
// marker, grain directory and table entries, compressed grains. The input is a stream file.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "extent/sparse/kdmv_layout.hpp"
#include "extent/sparse/open_sparse.hpp"
#include "format/grain_directory.hpp"
#include "format/marker.hpp"
#include "format/sparse_header.hpp"
#include "format/zlib_codec.hpp"
#include "fuzz_support.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

using vmdk_fuzz::require;
namespace format = vmdk::format;

namespace {

constexpr std::size_t kSector = format::kMarkerSize;
// Grains inflated per input, and the output bound handed to inflate_grain: small enough that a run
// stays fast, large enough for the 4 KiB and 64 KiB grains of the fixtures.
constexpr std::size_t kMaxInflates = 8;
constexpr std::size_t kInflateLimit = 64 * 1024;
// Bytes read through the extent per input: a few grains reach every path of the record reader, and
// inflating more only slows the search (fuzz_open_disk reads further).
constexpr std::uint64_t kReadBudget = 256 << 10;

// Every sector could be a marker: decode it and encode it back.
void check_markers(std::span<const std::uint8_t> input) {
  for (std::size_t at = 0; at + 16 <= input.size(); at += kSector) {
    const auto bytes = input.subspan(at, std::min(kSector, input.size() - at));
    const format::Marker marker = format::decode_marker(bytes);
    if (marker.is_grain()) {
      const auto encoded = format::encode_grain_marker(marker.value, marker.size);
      require(std::equal(encoded.begin(), encoded.end(), bytes.begin()), "grain marker does not round-trip");
    } else {
      const auto encoded =
          format::encode_metadata_marker(marker.value, static_cast<format::MarkerType>(marker.type));
      require(std::equal(encoded.begin(), encoded.begin() + 16, bytes.begin()),
              "metadata marker does not round-trip");
      require(format::decode_marker(encoded) == marker, "metadata marker decodes differently");
    }
  }
}

// Grain directories and tables are u32 arrays: the whole input read as one must round-trip.
void check_tables(std::span<const std::uint8_t> input) {
  const std::size_t count = input.size() / 4;
  const std::vector<std::uint32_t> entries = format::decode_u32_table(input, count);
  std::vector<std::uint8_t> out(count * 4);
  format::encode_u32_table(entries, out);
  require(std::equal(out.begin(), out.end(), input.begin()), "u32 table does not round-trip");
}

// The data after each grain marker goes through the bounded inflate; zlib's own one-shot inflate
// is the oracle for the bytes it produces.
void check_inflate(std::span<const std::uint8_t> input) {
  std::vector<std::uint8_t> out(kInflateLimit);
  std::vector<std::uint8_t> oracle(kInflateLimit);
  std::size_t done = 0;
  for (std::size_t at = 0; at + format::kGrainMarkerHeaderSize <= input.size() && done < kMaxInflates;
       at += kSector) {
    const format::Marker marker = format::decode_marker(input.subspan(at));
    if (!marker.is_grain()) continue;
    const std::size_t start = at + format::kGrainMarkerHeaderSize;
    const auto data = input.subspan(start, std::min<std::size_t>(marker.size, input.size() - start));
    // Half the grains into a short buffer: the part past it is inflated into scratch and counted.
    const std::size_t room = done % 2 == 0 ? out.size() : 1000;
    ++done;
    const format::InflateResult result =
        format::inflate_grain(data, std::span(out).first(room), kInflateLimit);
    require(result.produced <= room, "inflate_grain wrote past its output");
    require(result.total >= result.produced, "inflate_grain total below produced");
    if (!result.ok()) continue;
    require(result.total <= kInflateLimit, "inflate_grain accepted more than its limit");
    if (result.raw_deflate) continue;
    uLongf oracle_size = static_cast<uLongf>(oracle.size());
    const int rc = ::uncompress(oracle.data(), &oracle_size, data.data(), static_cast<uLong>(data.size()));
    require(rc == Z_OK, "zlib rejects a stream inflate_grain accepted");
    require(oracle_size == result.total, "inflate_grain counted a different length than zlib");
    require(std::memcmp(oracle.data(), out.data(), result.produced) == 0,
            "inflate_grain bytes differ from zlib");
  }
}

// The reader: header, footer, directory, tables, grain markers and grains of the file as a whole.
void check_reader(std::span<const std::uint8_t> input) {
  auto file =
      std::make_shared<vmdk::MemoryFile>("fuzz.vmdk", std::vector<std::uint8_t>(input.begin(), input.end()));
  try {
    const vmdk::sparse::KdmvLayout layout = vmdk::sparse::load_kdmv_layout(*file);
    auto extent = vmdk::sparse::open_sparse_extent(file, layout.capacity_bytes);
    std::vector<vmdk::Run> runs;
    extent->map(0, extent->size(), runs);
    std::uint64_t budget = kReadBudget;
    std::vector<std::uint8_t> buffer;
    for (const vmdk::Run& run : runs) {
      if (run.state != vmdk::BlockState::data || budget == 0) continue;
      const std::uint64_t length = std::min(run.length, budget);
      budget -= length;
      buffer.resize(static_cast<std::size_t>(length));
      extent->read(run.offset, buffer);
    }
    (void)extent->details();
  } catch (const vmdk::Error&) {
  }
}

}  // namespace

// Properties: marker and u32 table codecs round-trip; inflate_grain keeps its output bound and
// agrees with zlib; a stream extent that opens reads its grains or throws vmdk::Error, nothing else.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  check_markers(input);
  check_tables(input);
  check_inflate(input);
  check_reader(input);
  return 0;
}
