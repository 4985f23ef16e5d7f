// MemoryFile (a growable buffer), StreamSink (sequential output to a pipe) and read_exact.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk {

void read_exact(const ByteSource& source, std::uint64_t offset, std::span<std::uint8_t> out,
                std::string_view what) {
  std::size_t got = source.read_at(offset, out);
  if (got != out.size()) {
    throw FormatError(source.name(),
                      std::string(what) + " at " + hex(offset) + " is cut short by the end of the file (" +
                          hex(source.size()) + ")",
                      offset);
  }
}

std::size_t ByteSource::read_scatter_at(std::uint64_t offset,
                                       std::span<const std::span<std::uint8_t>> parts) const {
  std::size_t done = 0;
  for (std::span<std::uint8_t> part : parts) {
    std::size_t got = read_at(offset + done, part);
    done += got;
    if (got != part.size()) break;
  }
  return done;
}

DataSpan ByteSource::next_data(std::uint64_t offset) const {
  const std::uint64_t end = size();
  return offset >= end ? DataSpan{end, end} : DataSpan{offset, end};
}

MemoryFile::MemoryFile(std::string name, std::vector<std::uint8_t> data)
    : name_(std::move(name)), data_(std::move(data)) {}

std::size_t MemoryFile::read_at(std::uint64_t offset, std::span<std::uint8_t> out) const {
  // An empty out may have a null data(), which memcpy must not get even for 0 bytes.
  if (offset >= data_.size() || out.empty()) return 0;
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), data_.size() - offset));
  std::memcpy(out.data(), data_.data() + offset, n);
  return n;
}

void MemoryFile::write_at(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (offset + data.size() > data_.size()) data_.resize(static_cast<std::size_t>(offset + data.size()));
  std::copy(data.begin(), data.end(), data_.begin() + static_cast<std::ptrdiff_t>(offset));
}

void MemoryFile::resize(std::uint64_t size) { data_.resize(static_cast<std::size_t>(size)); }

StreamSink::StreamSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

void StreamSink::write_at(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (offset < position_) {
    throw UsageError(name_, "cannot seek backwards in a sequential output (to " + hex(offset) +
                                " from " + hex(position_) + ")");
  }
  if (offset > position_) resize(offset);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(name_, std::string("write failed: ") + std::strerror(errno), position_ + done);
    }
    done += static_cast<std::size_t>(n);
  }
  position_ += data.size();
}

void StreamSink::flush() {
  // fsync on a pipe fails with EINVAL; there is nothing to make durable then.
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
    throw IoError(name_, std::string("fsync failed: ") + std::strerror(errno));
  }
}

void StreamSink::resize(std::uint64_t size) {
  static const std::uint8_t zeros[65536] = {};
  while (position_ < size) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof zeros, size - position_));
    write_at(position_, std::span<const std::uint8_t>(zeros, n));
  }
}

}  // namespace vmdk
