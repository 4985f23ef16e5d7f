// Positionless byte I/O (pread/pwrite semantics): files, memory buffers and standard output.
// Reads are const so that layers and threads can share one open file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vmdk {

/// Where a source's bytes may be non-zero: [begin, end) is data as far as the source can tell, and
/// everything from the asked offset up to begin is a hole (reads as zeros without being stored).
/// begin == end: no data from the asked offset on (both are then at or past the end of the source,
/// kNoMoreData when the file system said so without giving the size).
struct DataSpan {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};
inline constexpr std::uint64_t kNoMoreData = UINT64_MAX;

/// Something bytes can be read from at any offset.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Reads up to out.size() bytes at offset. Returns the number read: fewer only at the end of the
  /// data (0 at or past the end). Throws IoError when the operating system fails.
  virtual std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) const = 0;
  /// Scatter read: the bytes from offset on fill parts one after another (preadv for files, so
  /// grains that lie back to back on disk but far apart in the disk image cost one system call).
  /// Returns the number read, fewer only at the end of the data. Throws IoError.
  virtual std::size_t read_scatter_at(std::uint64_t offset, std::span<const std::span<std::uint8_t>> parts) const;
  /// Current size in bytes.
  virtual std::uint64_t size() const = 0;
  /// Name used in messages (the path as the user or the descriptor gave it).
  virtual const std::string& name() const = 0;
  /// The first data at or after offset and where it ends (lseek SEEK_DATA / SEEK_HOLE for files),
  /// so that holes are neither read nor copied. A source that cannot tell (memory, a file system
  /// without the query, a device) answers data everywhere: {offset, size()}. Never throws for a
  /// file system that lacks the query.
  virtual DataSpan next_data(std::uint64_t offset) const;
};

/// Reads exactly out.size() bytes; throws FormatError "<what> at 0x.. is cut short by the end of
/// the file (0x..)" naming this source when the data ends early.
void read_exact(const ByteSource& source, std::uint64_t offset, std::span<std::uint8_t> out,
                std::string_view what);

/// Something bytes can be written to.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  /// Writes all of data at offset. A sequential sink (random_access() false) accepts only offsets
  /// at or after its current end and fills any gap with zeros. Throws IoError.
  virtual void write_at(std::uint64_t offset, std::span<const std::uint8_t> data) = 0;
  /// Makes everything written so far durable (fsync for files). Throws IoError.
  virtual void flush() = 0;
  /// Asks the system to start writing what was written so far to the device, without waiting
  /// (files: sync_file_range). A writer that computes while it writes (the streamOptimized
  /// compressor) calls it so that a later flush() finds little left to write. Proves nothing
  /// about durability; errors are left to the writes and flush(). Nothing by default.
  virtual void start_writeback() {}
  /// Sets the size (truncates or extends with a hole). Sequential sinks only extend.
  virtual void resize(std::uint64_t size) = 0;
  virtual bool random_access() const = 0;
  virtual const std::string& name() const = 0;
};

/// A file of the host file system.
class File final : public ByteSource, public ByteSink {
 public:
  enum class Mode { read, read_write, create_exclusive, create_truncate };
  /// Opens path; name() is path as given. Throws IoError naming the path and errno text.
  /// Only regular files and block devices are opened, non-blocking: a FIFO, socket, character
  /// device, directory or a file of a pseudo-filesystem (procfs, sysfs...) is an IoError saying what
  /// it is, and opening never waits.
  static std::unique_ptr<File> open(const std::filesystem::path& path, Mode mode = Mode::read);
  /// Reads a stream (standard input, a pipe) to its end into an unnamed temporary file in folder,
  /// a chunk at a time (memory stays bounded; all-zero chunks become holes). name() is name.
  /// Throws IoError.
  static std::unique_ptr<File> spool(int fd, std::string name, const std::filesystem::path& folder);
  ~File() override;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override;
  std::size_t read_scatter_at(std::uint64_t offset, std::span<const std::span<std::uint8_t>> parts) const override;
  std::uint64_t size() const override;
  const std::string& name() const override { return name_; }
  DataSpan next_data(std::uint64_t offset) const override;
  void write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override;
  void flush() override;
  void start_writeback() override;
  void resize(std::uint64_t size) override;
  bool random_access() const override { return true; }
  /// The operating system's descriptor, for batched reads (io::read_batch); owned by this File.
  int descriptor() const { return fd_; }

 private:
  File(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  int fd_;
  std::string name_;
};

/// An in-memory file, for tests and for disks opened from a buffer.
class MemoryFile final : public ByteSource, public ByteSink {
 public:
  explicit MemoryFile(std::string name, std::vector<std::uint8_t> data = {});
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override;
  std::uint64_t size() const override { return data_.size(); }
  const std::string& name() const override { return name_; }
  void write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override;
  void flush() override {}
  void resize(std::uint64_t size) override;
  bool random_access() const override { return true; }
  const std::vector<std::uint8_t>& data() const { return data_; }

 private:
  std::string name_;
  std::vector<std::uint8_t> data_;
};

/// A sequential sink over a file descriptor (standard output, a pipe).
class StreamSink final : public ByteSink {
 public:
  StreamSink(int fd, std::string name);
  void write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override;
  void flush() override;
  void resize(std::uint64_t size) override;
  bool random_access() const override { return false; }
  const std::string& name() const override { return name_; }
  std::uint64_t position() const { return position_; }

 private:
  int fd_;
  std::string name_;
  std::uint64_t position_ = 0;
};

}  // namespace vmdk
