// FLAT / VMFS extent: raw bytes at a fixed start in a host file (vmdk-format.md 1.6, 4.1).
#include "extent/flat/flat_extent.hpp"

#include <algorithm>

#include "vmdk/error.hpp"

namespace vmdk::flat {

namespace {

class FlatExtent final : public Extent {
 public:
  FlatExtent(std::shared_ptr<const ByteSource> file, std::uint64_t start, std::uint64_t size)
      : file_(std::move(file)), start_(start), size_(size), name_(file_->name()) {}

  std::uint64_t size() const override { return size_; }

  Run block_status(std::uint64_t offset, std::uint64_t max_len) const override {
    // max_len may reach past the end: the answer stops at the extent's end.
    if (max_len == 0 || offset >= size_) check_range(offset, max_len == 0 ? size_ + 1 : max_len);
    return Run{offset, std::min(max_len, size_ - offset), BlockState::data, start_ + offset, false};
  }

  void map(std::uint64_t offset, std::uint64_t length, std::vector<Run>& out) const override {
    if (length == 0) return;
    check_range(offset, length);
    out.push_back(Run{offset, length, BlockState::data, start_ + offset, false});
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
    details.allocated_bytes = size_;
    return details;
  }

 private:
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
