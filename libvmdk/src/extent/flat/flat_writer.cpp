// Writer of new flat extents (vmdk-format.md 1.6, 4.1): bytes at their own offsets; all-zero
// 4 KiB pieces are skipped so they stay holes, and finish() sets the final size.
#include "extent/flat/flat_writer.hpp"

#include <algorithm>
#include <cstring>

#include "vmdk/error.hpp"

namespace vmdk::flat {

namespace {

// Zero detection works on pieces aligned to this many bytes of the file (the usual page size).
constexpr std::uint64_t kHoleGranule = 4096;

bool all_zero(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return true;
  return bytes[0] == 0 && std::memcmp(bytes.data(), bytes.data() + 1, bytes.size() - 1) == 0;
}

class FlatWriter final : public ExtentWriter {
 public:
  FlatWriter(std::shared_ptr<ByteSink> file, std::uint64_t size_bytes)
      : file_(std::move(file)), size_(size_bytes) {}

  std::uint64_t size() const override { return size_; }

  void write(std::uint64_t offset, std::span<const std::uint8_t> data) override {
    if (finished_) throw UsageError(file_->name(), "flat writer: write after finish");
    if (offset < end_) {
      throw UsageError(file_->name(), "flat writer: write at " + hex(offset) +
                                          " goes backwards (previous end " + hex(end_) + ")");
    }
    if (offset > size_ || data.size() > size_ - offset) {
      throw UsageError(file_->name(), "flat writer: write of " + hex(data.size()) + " bytes at " +
                                          hex(offset) + " passes the extent size " + hex(size_));
    }
    if (data.empty()) return;
    end_ = offset + data.size();
    // Consecutive non-zero pieces go out in one write; zero pieces are skipped.
    std::size_t pos = 0;
    std::size_t run_start = 0;
    bool in_run = false;
    while (pos < data.size()) {
      const std::uint64_t at = offset + pos;
      const std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>(kHoleGranule - at % kHoleGranule, data.size() - pos));
      const bool zero = all_zero(data.subspan(pos, n));
      if (!zero && !in_run) {
        run_start = pos;
        in_run = true;
      } else if (zero && in_run) {
        put(offset + run_start, data.subspan(run_start, pos - run_start));
        in_run = false;
      }
      pos += n;
    }
    if (in_run) put(offset + run_start, data.subspan(run_start));
  }

  void finish() override {
    if (finished_) return;
    file_->resize(size_);
    file_->flush();
    written_end_ = size_;
    finished_ = true;
  }

  std::uint64_t file_bytes() const override { return written_end_; }

 private:
  void put(std::uint64_t at, std::span<const std::uint8_t> bytes) {
    file_->write_at(at, bytes);
    written_end_ = std::max(written_end_, at + bytes.size());
  }

  std::shared_ptr<ByteSink> file_;
  std::uint64_t size_;
  std::uint64_t end_ = 0;
  std::uint64_t written_end_ = 0;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<ExtentWriter> make_flat_writer(std::shared_ptr<ByteSink> file, std::uint64_t size_bytes) {
  if (!file) throw UsageError("", "make_flat_writer needs a file");
  return std::make_unique<FlatWriter>(std::move(file), size_bytes);
}

}  // namespace vmdk::flat
