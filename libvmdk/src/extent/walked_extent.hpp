// The Extent interface for kinds whose layer is found by walking grain tables run by run (COWD,
// SESparse): block status, map and coalesced reads, built once on the kind's walk().
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vmdk/error.hpp"
#include "vmdk/extent.hpp"
#include "vmdk/io.hpp"

namespace vmdk::extent {

/// Appends r to out (from index first on), merging it into the last run when both continue each
/// other: same state, and for data the next bytes of the host file.
inline void append_run(std::vector<Run>& out, std::size_t first, const Run& r) {
  if (out.size() > first) {
    Run& last = out.back();
    if (last.offset + last.length == r.offset && last.state == r.state &&
        (r.state != BlockState::data || last.host_offset + last.length == r.host_offset)) {
      last.length += r.length;
      return;
    }
  }
  out.push_back(r);
}

/// Derived provides `template <typename F> void walk(std::uint64_t offset, std::uint64_t length,
/// F&& f) const`, calling f(run) for consecutive runs covering the range until f returns false
/// (grains stored as they are, so data runs carry their host offset).
template <typename Derived>
class WalkedExtent : public Extent {
 public:
  std::uint64_t size() const override { return size_; }

  Run block_status(std::uint64_t offset, std::uint64_t max_len) const override {
    if (offset >= size_ || max_len == 0) {
      throw UsageError(name_, "block status at " + hex(offset) + " is outside the extent", offset);
    }
    std::vector<Run> runs;
    self().walk(offset, std::min(max_len, size_ - offset), [&](const Run& r) {
      append_run(runs, 0, r);
      return runs.size() == 1;  // stop at the first piece that does not extend the first run
    });
    return runs.front();
  }

  void map(std::uint64_t offset, std::uint64_t length, std::vector<Run>& out) const override {
    check_range(offset, length);
    const std::size_t first = out.size();
    self().walk(offset, length, [&](const Run& r) {
      append_run(out, first, r);
      return true;
    });
  }

  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    check_range(offset, out.size());
    // One pending pread that grows while grains follow each other on disk.
    std::uint64_t pending_host = 0;
    std::size_t pending_pos = 0;
    std::size_t pending_len = 0;
    auto flush = [&] {
      if (pending_len != 0)
        read_exact(*file_, pending_host, out.subspan(pending_pos, pending_len), "grain data");
      pending_len = 0;
    };
    self().walk(offset, out.size(), [&](const Run& r) {
      const auto pos = static_cast<std::size_t>(r.offset - offset);
      const auto len = static_cast<std::size_t>(r.length);
      if (r.state != BlockState::data) {
        std::memset(out.data() + pos, 0, len);
      } else if (pending_len != 0 && pending_host + pending_len == r.host_offset &&
                 pending_pos + pending_len == pos) {
        pending_len += len;
      } else {
        flush();
        pending_host = r.host_offset;
        pending_pos = pos;
        pending_len = len;
      }
      return true;
    });
    flush();
  }

  const std::string& host_file() const override { return name_; }
  // Grains are stored as they are: a chain may read data runs straight from the file.
  const ByteSource* host_source() const override { return file_.get(); }

 protected:
  WalkedExtent(std::shared_ptr<const ByteSource> file, std::string name, std::uint64_t size_bytes)
      : file_(std::move(file)), name_(std::move(name)), size_(size_bytes) {}

  void check_range(std::uint64_t offset, std::uint64_t length) const {
    if (offset > size_ || length > size_ - offset) {
      throw UsageError(
          name_,
          "range " + hex(offset) + "+" + hex(length) + " is outside the extent (" + hex(size_) + " bytes)",
          offset);
    }
  }

  std::shared_ptr<const ByteSource> file_;
  std::string name_;
  std::uint64_t size_;

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

}  // namespace vmdk::extent
