// What convert reads: a chain through its merged map, or a raw file whose holes (SEEK_DATA /
// SEEK_HOLE) map as unallocated so that they are neither read nor stored.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
    // A second descriptor only to ask the file system where the holes are (a duplicate, not a
    // second open of the name: the name may now be something else, and a spool has none).
    hole_fd_ = ::fcntl(file_->descriptor(), F_DUPFD_CLOEXEC, 0);
  }
  ~RawSource() override {
    if (hole_fd_ >= 0) ::close(hole_fd_);
  }
  RawSource(const RawSource&) = delete;
  RawSource& operator=(const RawSource&) = delete;

  std::uint64_t capacity() const override { return size_; }
  std::vector<ChainRun> map(std::uint64_t offset, std::uint64_t length) const override {
    std::vector<ChainRun> out;
    const std::uint64_t end = offset + length;
    while (offset < end) {
      std::uint64_t data_start = offset, data_end = end;
      if (hole_fd_ >= 0) {
        off_t d = ::lseek(hole_fd_, static_cast<off_t>(offset), SEEK_DATA);
        if (d < 0 && errno == ENXIO) d = static_cast<off_t>(end);  // only a hole up to the end
        if (d >= 0) {
          data_start = std::min<std::uint64_t>(static_cast<std::uint64_t>(d), end);
          off_t h = ::lseek(hole_fd_, static_cast<off_t>(data_start), SEEK_HOLE);
          data_end = h < 0 ? end : std::min<std::uint64_t>(static_cast<std::uint64_t>(h), end);
        }
      }
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
  int hole_fd_ = -1;
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
