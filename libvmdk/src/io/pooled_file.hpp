// Read-only files opened on first use through a process-wide pool of open descriptors (issue 16:
// a split disk of thousands of extent files must work under `ulimit -n 256`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "io/lock.hpp"
#include "vmdk/io.hpp"

namespace vmdk::io {

/// At most this many pooled files are open at once (plus those in use by a read at that moment).
inline constexpr std::size_t kPooledOpenFiles = 64;

/// A file read through the pool: opened when read and closed again when more than
/// kPooledOpenFiles pooled files are open (the least recently read first). Reopening checks that
/// the path still names the same file (device and inode, as the locks do); a file replaced since
/// is an IoError, never a silent switch to other bytes.
class PooledFile final : public ByteSource {
 public:
  /// Opens path once (File::open's checks and errors) to learn its identity, then lets the pool
  /// close it when it needs the descriptor.
  static std::shared_ptr<PooledFile> open(const std::filesystem::path& path);
  ~PooledFile() override;
  PooledFile(const PooledFile&) = delete;
  PooledFile& operator=(const PooledFile&) = delete;

  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override;
  std::size_t read_scatter_at(std::uint64_t offset, std::span<const std::span<std::uint8_t>> parts) const override;
  std::uint64_t size() const override;
  /// The file's holes, like File's (a split flat disk of more than 64 files keeps its holes).
  DataSpan next_data(std::uint64_t offset) const override;
  const std::string& name() const override { return name_; }

  /// The open file, opened again when the pool closed it; the pool never closes it while the
  /// returned pointer is held.
  std::shared_ptr<File> acquire() const;

 private:
  PooledFile(std::filesystem::path path, FileKey key) : path_(std::move(path)), name_(path_.string()), key_(key) {}
  std::filesystem::path path_;
  std::string name_;
  FileKey key_;
};

}  // namespace vmdk::io
