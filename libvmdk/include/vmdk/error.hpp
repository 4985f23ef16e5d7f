// The one exception hierarchy that leaves the library (DESIGN.md "Errors").
// Every error names the file it concerns and, where one exists, the byte offset of the structure.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace vmdk {

/// Base of every exception the library throws. what() is "<file>: <message>" (or just the message
/// when no file is involved); messages are lower case and give offsets in hex.
class Error : public std::runtime_error {
 public:
  Error(std::string file, std::string message, std::optional<std::uint64_t> offset = std::nullopt);

  const std::string& file() const noexcept { return file_; }
  const std::string& message() const noexcept { return message_; }
  std::optional<std::uint64_t> offset() const noexcept { return offset_; }

 private:
  std::string file_;
  std::string message_;
  std::optional<std::uint64_t> offset_;
};

/// The operating system failed a read, write, open, rename... (errno text included).
class IoError : public Error {
  using Error::Error;
};
/// Bytes on disk do not follow the format: bad magic, out-of-range field, damaged table, bad text.
class FormatError : public Error {
  using Error::Error;
};
/// Valid input that this version cannot handle (an extent kind not yet readable, a flag, ...).
class UnsupportedError : public Error {
  using Error::Error;
};
/// A snapshot chain is broken: missing parent, CID mismatch, cycle, capacity mismatch.
class ChainError : public Error {
  using Error::Error;
};
/// A request that is wrong in itself (offset past the end of a disk, bad option combination).
class UsageError : public Error {
  using Error::Error;
};

/// Another program holds a lock that conflicts (the message names it), or the files changed while
/// waiting for a lock.
class LockError : public Error {
  using Error::Error;
};

/// "0x1a000": the spelling every message uses for offsets and sizes.
std::string hex(std::uint64_t value);

}  // namespace vmdk
