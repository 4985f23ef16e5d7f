// FLAT / VMFS extent: raw bytes at a fixed start in a host file (vmdk-format.md 1.6, 4.1).
#include "extent/flat/flat_extent.hpp"

#include <algorithm>

#include "io/data_hint.hpp"
#include "vmdk/error.hpp"

namespace vmdk::flat {

namespace {

class FlatExtent final : public Extent {
 public:
  FlatExtent(std::shared_ptr<const ByteSource> file, std::uint64_t start, std::uint64_t size)
      : file_(std::move(file)), start_(start), size_(size), name_(file_->name()) {}

  std::uint64_t size() const override { return size_; }

  // A hole of the host file reads as zeros and hides nothing (a flat extent is a full layer): it
  // is a zero run that keeps its host offset, QEMU's data+zero, so that reads skip it and
  // map still names the file. Host data past the extent's window is never reported.
  Run block_status(std::uint64_t offset, std::uint64_t max_len) const override {
    // max_len may reach past the end: the answer stops at the extent's end.
    if (max_len == 0 || offset >= size_) check_range(offset, max_len == 0 ? size_ + 1 : max_len);
    const std::uint64_t length = std::min(max_len, size_ - offset);
    const std::uint64_t host = start_ + offset;
    const DataSpan span = hint_.next_data(*file_, host);
    if (span.begin > host) {
      const std::uint64_t hole = std::min(span.begin - host, length);
      return Run{offset, hole, BlockState::zero, host, false};
    }
    // span.end <= host: the file ends before the window does (it shrank since it was opened);
    // reported as data so that reading it fails as before, never as silent zeros.
    const std::uint64_t data = span.end > host ? std::min(span.end - host, length) : length;
    return Run{offset, data, BlockState::data, host, false};
  }

  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    if (out.empty()) return;
    check_range(offset, out.size());
    // The length was checked at open; a file that shrank since then is still an error, not zeros.
    read_exact(*file_, start_ + offset, out, "flat extent data");
  }

  const std::string& host_file() const override { return name_; }
  const ByteSource* host_source() const override { return file_.get(); }

  ExtentCapabilities capabilities() const override {
    ExtentCapabilities caps;
    caps.data_in_place = true;
    return caps;
  }

  ExtentDetails details() const override {
    ExtentDetails details;
    details.format = "flat";
    details.allocated_bytes = data_bytes();
    return details;
  }

 private:
  // Bytes of the extent's window that the host file stores (all of them where holes are unknown).
  std::uint64_t data_bytes() const {
    std::uint64_t total = 0;
    for (std::uint64_t host = start_, end = start_ + size_; host < end;) {
      const DataSpan span = file_->next_data(host);
      if (span.begin >= end || span.end <= span.begin) break;
      const std::uint64_t stop = std::min(span.end, end);
      total += stop - std::max(span.begin, host);
      host = stop;
    }
    return total;
  }

  void check_range(std::uint64_t offset, std::uint64_t length) const {
    if (offset > size_ || length > size_ - offset) {
      throw UsageError(name_, "range " + hex(offset) + "+" + hex(length) + " lies outside the flat extent (" +
                                  hex(size_) + " bytes)");
    }
  }

  std::shared_ptr<const ByteSource> file_;
  std::uint64_t start_;
  std::uint64_t size_;
  std::string name_;
  // A chain asks once per 32 MiB window: a terabyte hole costs one lseek, not one per window.
  io::DataHint hint_;
};

}  // namespace

std::unique_ptr<Extent> open_flat_extent(std::shared_ptr<const ByteSource> file, std::uint64_t start_bytes,
                                         std::uint64_t size_bytes) {
  if (start_bytes > UINT64_MAX - size_bytes) {
    throw FormatError(file->name(), "flat extent start " + hex(start_bytes) + " plus size " + hex(size_bytes) +
                                        " overflows");
  }
  const std::uint64_t have = file->size();
  if (have < start_bytes + size_bytes) {
    throw FormatError(file->name(), "extent file is shorter than its descriptor line (" + hex(have) + " < " +
                                        hex(start_bytes) + " + " + hex(size_bytes) + ")");
  }
  return std::make_unique<FlatExtent>(std::move(file), start_bytes, size_bytes);
}

}  // namespace vmdk::flat
