// Who holds a lock: the "lock:" lines of /proc/PID/fdinfo/FD name the inode of every lock set
// through that descriptor (OFD locks show pid -1 in /proc/locks, so the owner is found there),
// with /proc/locks as a fallback for classic POSIX and flock locks.
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <system_error>

#include "io/lock.hpp"

namespace vmdk::io {

namespace fs = std::filesystem;

namespace {

// " 08:01:1234 ": how /proc spells an inode (kernel major:minor in hex, inode in decimal).
std::string inode_text(const FileKey& key) {
  char text[64];
  std::snprintf(text, sizeof text, " %02x:%02x:%lu ", major(key.dev), minor(key.dev),
                static_cast<unsigned long>(key.ino));
  return text;
}

// The text of a /proc file, at most limit bytes; what could be read when the process it describes
// ends meanwhile (reads then fail with ESRCH), never an exception: naming the holder is a courtesy
// of the error message, and std::ifstream throws from underflow on such a read error.
std::string read_proc_file(const fs::path& path, std::size_t limit = 1 << 20) {
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return text;
  char buffer[4096];
  while (text.size() < limit) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

bool is_number(const std::string& name) {
  return !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
}

bool file_has_lock_line(const fs::path& fdinfo, const std::string& inode, std::string_view prefix) {
  std::istringstream in(read_proc_file(fdinfo));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0 && (line + " ").find(inode) != std::string::npos) return true;
  }
  return false;
}

// The pid of another process with a lock on the inode among its open descriptors, or 0.
long holder_from_fdinfo(const std::string& inode) {
  const std::string self = std::to_string(::getpid());
  std::error_code error;
  for (fs::directory_iterator proc("/proc", error), end; !error && proc != end; proc.increment(error)) {
    const std::string pid = proc->path().filename().string();
    if (!is_number(pid) || pid == self) continue;
    std::error_code inner;
    for (fs::directory_iterator fd(proc->path() / "fdinfo", inner); !inner && fd != end; fd.increment(inner)) {
      if (file_has_lock_line(fd->path(), inode, "lock:")) return std::stol(pid);
    }
  }
  return 0;
}

// /proc/locks: "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (OFD locks show pid -1).
long holder_from_proc_locks(const std::string& inode) {
  std::istringstream in(read_proc_file("/proc/locks"));
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t at = (line + " ").find(inode);
    if (at == std::string::npos) continue;
    const std::size_t start = line.rfind(' ', at == 0 ? 0 : at - 1);
    if (start == std::string::npos) continue;
    long pid = std::strtol(line.c_str() + start + 1, nullptr, 10);
    if (pid > 0 && pid != ::getpid()) return pid;
  }
  return 0;
}

// The command line of pid, arguments joined by spaces, control characters and backslashes
// escaped as \xNN, cut to a readable length.
std::string command_line(long pid) {
  std::string raw = read_proc_file("/proc/" + std::to_string(pid) + "/cmdline", 4096);
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  std::string out;
  for (char c : raw) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\0') {
      out += ' ';
    } else if (byte < 0x20 || byte == 0x7f || c == '\\') {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out += c;
    }
    if (out.size() > 200) {
      out += "...";
      break;
    }
  }
  return out;
}

}  // namespace

std::string lock_holder(const FileKey& key) {
  const std::string inode = inode_text(key);
  long pid = holder_from_fdinfo(inode);
  if (pid == 0) pid = holder_from_proc_locks(inode);
  if (pid == 0) return "another program";
  std::string text = "pid " + std::to_string(pid);
  const std::string command = command_line(pid);
  if (!command.empty()) text += " (" + command + ")";
  return text;
}

}  // namespace vmdk::io
