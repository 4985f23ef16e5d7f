// File::spool: a stream whose length is unknown up front (standard input given as '-') copied to
// an unnamed temporary file, so that commands can size it and read it at any offset.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

namespace vmdk {

namespace {

constexpr std::size_t kSpoolChunk = 1024 * 1024;

[[noreturn]] void spool_failed(const std::string& name, const char* what, int err) {
  throw IoError(name, std::string(what) + ": " + std::strerror(err));
}

// An unnamed file in folder (O_TMPFILE); where the file system lacks it, a named one unlinked at
// once. Either way nothing is left behind when the process ends.
int unnamed_file(const std::filesystem::path& folder, const std::string& name) {
  const std::string dir = folder.empty() ? "." : folder.string();
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string pattern = dir + "/.vmdkit-stdin-XXXXXX";
  fd = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (fd < 0) spool_failed(name, ("cannot make a temporary file in " + dir).c_str(), errno);
  ::unlink(pattern.c_str());
  return fd;
}

// Reads up to out.size() bytes; fewer only at the end of the stream.
std::size_t read_some(int fd, std::span<std::uint8_t> out, const std::string& name) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) spool_failed(name, "read failed", errno);
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace

std::unique_ptr<File> File::spool(int fd, std::string name, const std::filesystem::path& folder) {
  std::unique_ptr<File> out(new File(unnamed_file(folder, name), std::move(name)));
  std::vector<std::uint8_t> chunk(kSpoolChunk);
  std::uint64_t total = 0;
  while (true) {
    const std::size_t got = read_some(fd, chunk, out->name());
    if (got == 0) break;
    const auto bytes = std::span<const std::uint8_t>(chunk.data(), got);
    // Zeros are left as a hole: reading the spool gives them back, and a raw source maps them as
    // unallocated (as it does for a sparse input file).
    if (std::any_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b != 0; }))
      out->write_at(total, bytes);
    total += got;
  }
  out->resize(total);
  return out;
}

}  // namespace vmdk
