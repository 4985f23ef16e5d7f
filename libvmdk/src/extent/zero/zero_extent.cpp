// ZERO extent: no host file; block status says zero (this layer answers zeros), reads give zeros.
#include "extent/zero/zero_extent.hpp"

#include <algorithm>
#include <string>

#include "vmdk/error.hpp"

namespace vmdk::zero {

namespace {

class ZeroExtent final : public Extent {
 public:
  explicit ZeroExtent(std::uint64_t size) : size_(size) {}

  std::uint64_t size() const override { return size_; }

  Run block_status(std::uint64_t offset, std::uint64_t max_len) const override {
    // max_len may reach past the end: the answer stops at the extent's end.
    if (max_len == 0 || offset >= size_) check_range(offset, max_len == 0 ? size_ + 1 : max_len);
    return Run{offset, std::min(max_len, size_ - offset), BlockState::zero, kNoHostOffset, false};
  }

  void map(std::uint64_t offset, std::uint64_t length, std::vector<Run>& out) const override {
    if (length == 0) return;
    check_range(offset, length);
    out.push_back(Run{offset, length, BlockState::zero, kNoHostOffset, false});
  }

  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    check_range(offset, out.size());
    std::fill(out.begin(), out.end(), std::uint8_t{0});
  }

  const std::string& host_file() const override { return empty_; }

  ExtentCapabilities capabilities() const override {
    ExtentCapabilities caps;
    caps.reads_as_zero = true;
    return caps;
  }

  ExtentDetails details() const override {
    ExtentDetails details;
    details.format = "zero";
    return details;
  }

 private:
  void check_range(std::uint64_t offset, std::uint64_t length) const {
    if (offset > size_ || length > size_ - offset) {
      throw UsageError("", "range " + hex(offset) + "+" + hex(length) + " lies outside the zero extent (" +
                               hex(size_) + " bytes)");
    }
  }

  std::uint64_t size_;
  std::string empty_;
};

}  // namespace

std::unique_ptr<Extent> open_zero_extent(std::uint64_t size_bytes) { return std::make_unique<ZeroExtent>(size_bytes); }

}  // namespace vmdk::zero
