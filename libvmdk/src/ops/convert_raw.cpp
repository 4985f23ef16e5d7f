// ops::convert to raw: data runs of the merged chain map are written, everything else (zero and
// unallocated ranges, data that is all zeros) stays a hole. Crash-safe: temporary file, fsync, rename.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <system_error>

#include "vmdk/error.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

namespace {

// Zero detection works on pieces this big: a written grain that is all zeros becomes a hole.
constexpr std::uint64_t kZeroPiece = 4096;
// The map is asked for at most this much at a time, so its answer stays small for huge disks.
constexpr std::uint64_t kMapWindow = 1ull << 30;

bool all_zero(const std::uint8_t* p, std::size_t n) {
  if (n == 0) return true;
  return p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0;
}

// Removes the temporary file unless the conversion was committed.
class TempGuard {
 public:
  explicit TempGuard(std::filesystem::path path) : path_(std::move(path)) {}
  ~TempGuard() {
    if (!committed_) {
      std::error_code ec;
      std::filesystem::remove(path_, ec);
    }
  }
  TempGuard(const TempGuard&) = delete;
  TempGuard& operator=(const TempGuard&) = delete;
  void commit() { committed_ = true; }

 private:
  std::filesystem::path path_;
  bool committed_ = false;
};

void refuse_own_files(const Chain& chain, const std::filesystem::path& destination) {
  std::error_code ec;
  if (!std::filesystem::exists(destination, ec)) return;
  auto same = [&](const std::filesystem::path& p) {
    std::error_code e;
    return !p.empty() && std::filesystem::equivalent(destination, p, e) && !e;
  };
  for (const auto& layer : chain.layers()) {
    bool own = same(layer.disk->path());
    for (const auto& slot : layer.disk->extents()) own = own || same(slot.path);
    if (own) {
      throw UsageError(destination.string(), "is a file of the disk being converted; choose another destination");
    }
  }
}

void sync_folder(const std::filesystem::path& folder) {
  int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the data itself is already durable
  ::fsync(fd);
  ::close(fd);
}

struct Segment {
  std::uint64_t start;
  std::uint64_t end;
};

class RawWriter {
 public:
  RawWriter(const Chain& chain, File& out, const ConvertOptions& options, ConvertReport& report)
      : chain_(chain), out_(out), options_(options), report_(report),
        limit_(std::max<std::uint64_t>(options.chunk_size, kZeroPiece)) {}

  void run() {
    const std::uint64_t capacity = chain_.capacity();
    for (std::uint64_t pos = 0; pos < capacity;) {
      std::uint64_t window = std::min(kMapWindow, capacity - pos);
      for (const auto& run : chain_.map(pos, window)) {
        if (run.data) add_data(run.offset, run.offset + run.length);
        else progress(run.offset + run.length);
      }
      pos += window;
    }
    flush_batch();
    progress(capacity);
  }

 private:
  void add_data(std::uint64_t start, std::uint64_t end) {
    while (start < end) {
      // A batch is one read of at most limit_ bytes starting at its first data byte.
      if (!batch_.empty() && start >= batch_.front().start + limit_) flush_batch();
      std::uint64_t batch_start = batch_.empty() ? start : batch_.front().start;
      std::uint64_t piece_end = std::min(end, batch_start + limit_);
      batch_.push_back({start, piece_end});
      start = piece_end;
      if (start < end) flush_batch();
    }
  }

  void flush_batch() {
    if (batch_.empty()) return;
    const std::uint64_t base = batch_.front().start;
    const std::uint64_t span_len = batch_.back().end - base;
    buffer_.resize(static_cast<std::size_t>(span_len));
    chain_.read(base, std::span<std::uint8_t>(buffer_.data(), buffer_.size()));
    // Write the non-zero pieces of each data segment, merging neighbours into one write.
    std::uint64_t pending_start = 0, pending_end = 0;
    auto flush_pending = [&] {
      if (pending_end > pending_start) {
        out_.write_at(pending_start, std::span<const std::uint8_t>(buffer_.data() + (pending_start - base),
                                                                   static_cast<std::size_t>(pending_end - pending_start)));
        report_.data_bytes += pending_end - pending_start;
      }
      pending_start = pending_end = 0;
    };
    for (const auto& seg : batch_) {
      for (std::uint64_t p = seg.start; p < seg.end;) {
        std::uint64_t q = std::min(seg.end, (p / kZeroPiece + 1) * kZeroPiece);
        const std::uint8_t* bytes = buffer_.data() + (p - base);
        if (all_zero(bytes, static_cast<std::size_t>(q - p))) {
          report_.skipped_zero_bytes += q - p;
          flush_pending();
        } else if (pending_end == p && pending_end > pending_start) {
          pending_end = q;
        } else {
          flush_pending();
          pending_start = p;
          pending_end = q;
        }
        p = q;
      }
    }
    flush_pending();
    std::uint64_t end = batch_.back().end;
    batch_.clear();
    progress(end);
  }

  void progress(std::uint64_t done) {
    // Non-data runs are passed while a batch before them is still pending: never go backwards.
    shown_ = std::max(shown_, done);
    if (options_.progress) options_.progress(shown_, chain_.capacity());
  }

  const Chain& chain_;
  File& out_;
  const ConvertOptions& options_;
  ConvertReport& report_;
  std::uint64_t limit_;
  std::vector<Segment> batch_;
  std::vector<std::uint8_t> buffer_;
  std::uint64_t shown_ = 0;
};

}  // namespace

ConvertReport convert(const Chain& chain, const std::filesystem::path& destination,
                      const ConvertOptions& options) {
  if (options.format != "raw") {
    throw UnsupportedError("", "conversion to '" + options.format + "' is not supported yet (only raw)");
  }
  if (destination.filename().empty()) {
    throw UsageError(destination.string(), "destination is a folder, not a file name");
  }
  refuse_own_files(chain, destination);

  ConvertReport report;
  report.output = destination.string();
  report.format = options.format;
  report.capacity = chain.capacity();

  const std::filesystem::path folder = destination.parent_path();
  const std::filesystem::path temp = folder / ("." + destination.filename().string() + ".vmdkit-tmp");
  TempGuard guard(temp);
  {
    auto out = File::open(temp, File::Mode::create_truncate);
    out->resize(report.capacity);
    RawWriter(chain, *out, options, report).run();
    out->flush();
  }
  std::error_code ec;
  std::filesystem::rename(temp, destination, ec);
  if (ec) {
    throw IoError(destination.string(), "cannot rename " + temp.string() + " into place: " + ec.message());
  }
  guard.commit();
  sync_folder(folder);
  return report;
}

}  // namespace vmdk
