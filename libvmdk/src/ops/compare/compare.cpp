// ops::compare: the contents of two disks, each a VMDK chain (KDMV magic or descriptor text) or a
// raw file. Ranges that both sides map as zeros or unallocated are compared without reading; the
// others are read by reader threads (ops::read_in_order) and compared in order.
#include <algorithm>
#include <cstring>

#include "extent/foreign_magic.hpp"
#include "io/data_hint.hpp"
#include "ops/common/ordered_reads.hpp"
#include "vmdk/error.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

namespace {

class Side {
 public:
  virtual ~Side() = default;
  virtual std::uint64_t size() const = 0;
  virtual void read(std::uint64_t offset, std::span<std::uint8_t> out) const = 0;
  /// False when [offset, offset+length) surely reads as zeros (no data anywhere in it).
  virtual bool may_hold_data(std::uint64_t offset, std::uint64_t length) const = 0;
};

class ChainSide final : public Side {
 public:
  explicit ChainSide(std::unique_ptr<Chain> chain) : chain_(std::move(chain)) {}
  std::uint64_t size() const override { return chain_->capacity(); }
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override { chain_->read(offset, out); }
  bool may_hold_data(std::uint64_t offset, std::uint64_t length) const override {
    auto runs = chain_->map(offset, length);
    return std::any_of(runs.begin(), runs.end(), [](const ChainRun& r) { return r.holds_bytes(); });
  }
  const Chain& chain() const { return *chain_; }

 private:
  std::unique_ptr<Chain> chain_;
};

class RawSide final : public Side {
 public:
  explicit RawSide(std::unique_ptr<File> file) : file_(std::move(file)), size_(file_->size()) {}
  std::uint64_t size() const override { return size_; }
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    read_exact(*file_, offset, out, "raw data");
  }
  bool may_hold_data(std::uint64_t offset, std::uint64_t length) const override {
    // The file system's holes (SEEK_DATA); one that cannot tell says data everywhere.
    const DataSpan span = hint_.next_data(*file_, offset);
    return span.begin < span.end && span.begin < offset + length;
  }

 private:
  std::unique_ptr<File> file_;
  std::uint64_t size_;
  io::DataHint hint_;  // compare asks chunk by chunk: one lseek per hole, not per chunk
};

// A VMDK starts with the sparse magic "KDMV" or is descriptor text; anything else is raw.
bool is_vmdk(const File& file) {
  std::vector<std::uint8_t> head(static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), 4096)));
  std::size_t got = file.read_at(0, head);
  head.resize(got);
  if (got >= 4 && std::memcmp(head.data(), "KDMV", 4) == 0) return true;
  return looks_like_descriptor(std::string_view(reinterpret_cast<const char*>(head.data()), head.size()));
}

std::unique_ptr<Side> open_side(const std::filesystem::path& path, const CompareOptions& options,
                                CompareSide& info) {
  auto file = File::open(path);
  info.path = path.string();
  if (is_vmdk(*file)) {
    file.reset();
    auto chain = Chain::open(path, options.chain);
    if (options.warning) {
      for (const auto& w : chain->warnings()) options.warning(w);
    }
    info.kind = "vmdk";
    info.size = chain->capacity();
    return std::make_unique<ChainSide>(std::move(chain));
  }
  // Reading a qcow2 or VHD as raw bytes compares its metadata, not its disk: say what it is.
  if (std::optional<std::string> format = extent::foreign_image_format(*file)) {
    throw FormatError(path.string(), "is a " + *format +
                                         " image, not a VMDK or a raw disk (compare reads only those; qemu-img "
                                         "convert -O raw makes a raw copy)");
  }
  info.kind = "raw";
  info.size = file->size();
  return std::make_unique<RawSide>(std::move(file));
}

// Where two equal-length buffers first differ (they are known to differ): memcmp finds the 4 KiB
// block, a byte loop the byte (std::mismatch alone goes a byte at a time over the whole buffer).
std::size_t first_difference(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  constexpr std::size_t kBlock = 4096;
  std::size_t at = 0;
  while (at + kBlock < a.size() && std::memcmp(a.data() + at, b.data() + at, kBlock) == 0) at += kBlock;
  while (at < a.size() && a[at] == b[at]) ++at;
  return at;
}

}  // namespace

CompareReport compare(const std::filesystem::path& a, const std::filesystem::path& b,
                      const CompareOptions& options) {
  CompareReport report;
  auto left = open_side(a, options, report.a);
  auto right = open_side(b, options, report.b);
  if (report.a.size != report.b.size) {
    report.message = "sizes differ: " + report.a.path + " is " + std::to_string(report.a.size) + " bytes, " +
                     report.b.path + " is " + std::to_string(report.b.size) + " bytes";
    return report;
  }
  const std::uint64_t total = report.a.size;
  // A range of `chunk` disk bytes fills a buffer of twice that: side A's bytes, then side B's (so
  // the buffers stay chunk_size). Ranges that neither side can hold data in are skipped without
  // reading; reading stops at the first range that differs (ranges read ahead of it are dropped).
  const std::size_t chunk = std::max<std::size_t>(options.chunk_size / 2, 512);
  std::uint64_t pos = 0;
  ops::OrderedReadOptions reading;
  reading.max_length = 2 * chunk;
  reading.threads = options.read_threads;
  ops::read_in_order(
      [&]() -> std::optional<ops::RangeRead> {
        while (!report.first_difference && pos < total) {
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, total - pos));
          const std::uint64_t at = pos;
          pos += n;
          if (left->may_hold_data(at, n) || right->may_hold_data(at, n)) return ops::RangeRead{at, 2 * n};
        }
        return std::nullopt;
      },
      [&](std::uint64_t offset, std::span<std::uint8_t> into) {
        const std::size_t n = into.size() / 2;
        left->read(offset, into.first(n));
        right->read(offset, into.subspan(n));
      },
      [&](const ops::RangeRead& range, std::span<const std::uint8_t> bytes) {
        if (report.first_difference) return;
        const std::size_t n = bytes.size() / 2;
        if (std::memcmp(bytes.data(), bytes.data() + n, n) != 0) {
          report.first_difference = range.offset + first_difference(bytes.first(n), bytes.subspan(n));
          return;
        }
        if (options.progress) options.progress(range.offset + n, total);
      },
      reading);
  if (report.first_difference) {
    const std::uint64_t at = *report.first_difference;
    report.message = "contents differ at offset " + std::to_string(at) + " (" + hex(at) + ")";
    return report;
  }
  if (options.progress) options.progress(total, total);
  report.identical = true;
  report.message = "identical";
  return report;
}

}  // namespace vmdk
