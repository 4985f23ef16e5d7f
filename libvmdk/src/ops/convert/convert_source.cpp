// What convert reads: a chain through its merged map, or a raw file whose holes (SEEK_DATA /
// SEEK_HOLE) map as unallocated so that they are neither read nor stored.
#include <algorithm>

#include "io/data_hint.hpp"
#include "vmdk/convert.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace {

class ChainSource final : public ConvertSource {
 public:
  explicit ChainSource(const Chain& chain) : chain_(chain) {}
  std::uint64_t capacity() const override { return chain_.capacity(); }
  std::vector<ChainRun> map(std::uint64_t offset, std::uint64_t length) const override {
    return chain_.map(offset, length);
  }
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override { chain_.read(offset, out); }
  std::vector<std::filesystem::path> files() const override {
    std::vector<std::filesystem::path> out;
    for (const auto& layer : chain_.layers()) {
      out.push_back(layer.disk->path());
      for (const auto& slot : layer.disk->extents()) {
        if (!slot.path.empty()) out.push_back(slot.path);
      }
    }
    return out;
  }

 private:
  const Chain& chain_;
};

class RawSource final : public ConvertSource {
 public:
  RawSource(const std::filesystem::path& path, std::unique_ptr<File> file) : path_(path), file_(std::move(file)) {
    size_ = file_->size();
    if (size_ == 0 || size_ % 512 != 0) {
      throw UsageError(file_->name(), "a raw disk must be a non-empty multiple of 512 bytes (this one is " +
                                          std::to_string(size_) + " bytes)");
    }
  }

  std::uint64_t capacity() const override { return size_; }
  std::vector<ChainRun> map(std::uint64_t offset, std::uint64_t length) const override {
    std::vector<ChainRun> out;
    const std::uint64_t end = offset + length;
    while (offset < end) {
      // A file system that cannot tell answers data everywhere: then everything is read.
      const DataSpan span = hint_.next_data(*file_, offset);
      const std::uint64_t data_start = std::min(span.begin, end);
      // A file cut short since it was opened reads as data, so that reading it fails loudly.
      const std::uint64_t data_end = span.end > data_start ? std::min(span.end, end) : end;
      if (data_start > offset) push(out, offset, data_start - offset, false);
      if (data_end > data_start) push(out, data_start, data_end - data_start, true);
      offset = std::max(data_end, data_start);
    }
    return out;
  }
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    read_exact(*file_, offset, out, "raw data");
  }
  std::vector<std::filesystem::path> files() const override { return {path_}; }

 private:
  void push(std::vector<ChainRun>& out, std::uint64_t offset, std::uint64_t length, bool data) const {
    ChainRun run;
    run.offset = offset;
    run.length = length;
    run.present = data;
    run.data = data;
    if (data) {
      run.file = path_.string();
      run.host_offset = offset;
    }
    out.push_back(std::move(run));
  }

  std::filesystem::path path_;
  std::unique_ptr<File> file_;
  std::uint64_t size_ = 0;
  io::DataHint hint_;  // the pump maps window by window: one lseek per hole, not per window
};

}  // namespace

std::unique_ptr<ConvertSource> chain_source(const Chain& chain) { return std::make_unique<ChainSource>(chain); }

std::unique_ptr<ConvertSource> raw_source(const std::filesystem::path& path) {
  return std::make_unique<RawSource>(path, File::open(path));
}

std::unique_ptr<ConvertSource> raw_source(std::unique_ptr<File> file) {
  const std::filesystem::path name = file->name();
  return std::make_unique<RawSource>(name, std::move(file));
}

}  // namespace vmdk
