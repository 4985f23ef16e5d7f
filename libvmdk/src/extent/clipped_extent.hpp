// The first bytes of an extent opened for a longer line. Lines of one disk that name one sparse,
// stream, COWD or SESparse file with different sizes share one extent, opened once for the longest
// of them (such lines alias each other: info shows them and check reports them, but 500 lines must
// not cost 500 reads of the file's tables; issue 16).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vmdk/error.hpp"
#include "vmdk/extent.hpp"

namespace vmdk::extent {

class ClippedExtent final : public Extent {
 public:
  /// size <= inner->size().
  ClippedExtent(std::shared_ptr<Extent> inner, std::uint64_t size) : inner_(std::move(inner)), size_(size) {}

  std::uint64_t size() const override { return size_; }
  Run block_status(std::uint64_t offset, std::uint64_t max_len) const override {
    if (offset >= size_ || max_len == 0) check(offset, size_ + 1);
    return inner_->block_status(offset, std::min(max_len, size_ - offset));
  }
  void map(std::uint64_t offset, std::uint64_t length, std::vector<Run>& out) const override {
    check(offset, length);
    inner_->map(offset, length, out);
  }
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    check(offset, out.size());
    inner_->read(offset, out);
  }
  const std::string& host_file() const override { return inner_->host_file(); }
  const ByteSource* host_source() const override { return inner_->host_source(); }
  ExtentDetails details() const override { return inner_->details(); }
  ExtentCapabilities capabilities() const override { return inner_->capabilities(); }

 private:
  void check(std::uint64_t offset, std::uint64_t length) const {
    if (offset > size_ || length > size_ - offset) {
      throw UsageError(host_file(), "range " + hex(offset) + "+" + hex(length) + " is outside the extent (" +
                                        hex(size_) + " bytes)", offset);
    }
  }

  std::shared_ptr<Extent> inner_;
  std::uint64_t size_;
};

}  // namespace vmdk::extent
