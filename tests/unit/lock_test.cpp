// The lock primitive (io/lock.hpp): OFD locks shared for reading and exclusive for changing,
// one descriptor per file per process, a refusal naming the holding process, waiting with a
// deadline, a path replaced while waiting, and unique temporary names (ops/temp_file.hpp).
#include "io/lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "ops/output/temp_file.hpp"
#include "support/temp_dir.hpp"
#include "vmdk/error.hpp"
#include "vmdk/io.hpp"

using namespace vmdk;
namespace fs = std::filesystem;

namespace {

struct TempDir : vmdk_test::TempDir {
  TempDir() : vmdk_test::TempDir("vmdkit-lock") {}
};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Another process that locks path in mode, says so through a pipe and keeps the lock until
// released (or for hold_ms when hold_ms > 0). Locks belong to the child's own open descriptions.
class Holder {
 public:
  Holder(const fs::path& path, io::LockMode mode, int hold_ms = 0) {
    REQUIRE(::pipe(ready_) == 0);
    REQUIRE(::pipe(release_) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int status = 0;
      try {
        io::LockSet locks;
        locks.lock(path, mode);
        char byte = 1;
        if (::write(ready_[1], &byte, 1) != 1) status = 2;
        if (hold_ms > 0) {
          ::usleep(static_cast<useconds_t>(hold_ms) * 1000);
        } else if (::read(release_[0], &byte, 1) < 0) {
          status = 2;
        }
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
    char byte = 0;
    REQUIRE(::read(ready_[0], &byte, 1) == 1);
  }
  ~Holder() {
    char byte = 1;
    if (::write(release_[1], &byte, 1) != 1) {}
    int status = 0;
    ::waitpid(pid_, &status, 0);
    for (int fd : {ready_[0], ready_[1], release_[0], release_[1]}) ::close(fd);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int ready_[2]{};
  int release_[2]{};
};

std::string refusal(const fs::path& path, io::LockMode mode) {
  try {
    io::LockSet locks;
    locks.lock(path, mode);
  } catch (const LockError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("shared locks of two programs go together, an exclusive one is refused naming the holder", "[lock]") {
  TempDir dir;
  const fs::path file = dir / "disk.vmdk";
  write_text(file, "bytes");
  Holder reader(file, io::LockMode::shared);
  CHECK(refusal(file, io::LockMode::shared).empty());
  const std::string message = refusal(file, io::LockMode::exclusive);
  CHECK(message.find("disk.vmdk: cannot lock it for changing: held by pid " + std::to_string(reader.pid())) !=
        std::string::npos);
  CHECK(message.find("unit_tests") != std::string::npos);  // the holder's command line
}

TEST_CASE("an exclusive lock of another program refuses readers and writers", "[lock]") {
  TempDir dir;
  const fs::path file = dir / "disk.vmdk";
  write_text(file, "bytes");
  Holder writer(file, io::LockMode::exclusive);
  const std::string message = refusal(file, io::LockMode::shared);
  CHECK(message.find("cannot lock it for reading: held by pid " + std::to_string(writer.pid()) +
                     " (") != std::string::npos);
  CHECK(message.find("--wait") != std::string::npos);
  CHECK_FALSE(refusal(file, io::LockMode::exclusive).empty());
}

// Whether a new open file description gets the lock: what another program would see. (A forked
// child shares this process's lock registry and descriptors, so it probes with plain fcntl.)
bool can_lock(const fs::path& path, io::LockMode mode) {
  const int fd = ::open(path.c_str(), mode == io::LockMode::exclusive ? O_RDWR : O_RDONLY);
  REQUIRE(fd >= 0);
  struct flock lock {};
  lock.l_type = mode == io::LockMode::exclusive ? F_WRLCK : F_RDLCK;
  lock.l_whence = SEEK_SET;
  const bool ok = ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
  ::close(fd);
  return ok;
}

TEST_CASE("one process holds a file through one descriptor: its own locks never conflict", "[lock]") {
  TempDir dir;
  const fs::path file = dir / "disk.vmdk";
  write_text(file, "bytes");
  io::LockSet first;
  REQUIRE(first.lock(file, io::LockMode::shared));
  {
    // A second operation of this process, by another spelling of the path, upgrades the lock.
    io::LockSet second;
    REQUIRE(second.lock(dir.path / "." / "disk.vmdk", io::LockMode::exclusive));
    CHECK_FALSE(can_lock(file, io::LockMode::shared));
  }
  // After the exclusive holder is gone the shared one remains: another program may read, not write.
  CHECK(can_lock(file, io::LockMode::shared));
  CHECK_FALSE(can_lock(file, io::LockMode::exclusive));
  first.release();
  CHECK(can_lock(file, io::LockMode::exclusive));
}

TEST_CASE("a lock held while File objects come and go is still seen by other programs", "[lock]") {
  TempDir dir;
  const fs::path file = dir / "disk.vmdk";
  write_text(file, "bytes");
  io::LockSet locks;
  REQUIRE(locks.lock(file, io::LockMode::exclusive));
  // Closing any descriptor of a file drops a process's POSIX locks on it; OFD locks stay.
  { auto a = File::open(file); auto b = File::open(file, File::Mode::read_write); }
  CHECK_FALSE(can_lock(file, io::LockMode::shared));
}

TEST_CASE("acquire_planned waits for a holder until its deadline and refuses at once without one", "[lock]") {
  TempDir dir;
  const fs::path file = dir / "disk.vmdk";
  write_text(file, "bytes");
  auto plan = [&] { return std::vector<io::LockRequest>{{file, io::LockMode::exclusive}}; };
  {
    Holder holder(file, io::LockMode::shared, 300);
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(io::acquire_planned(plan, 0), LockError);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(200));
    io::LockSet locks = io::acquire_planned(plan, 10);
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(250));
    CHECK(locks.covers(plan()));
  }
  Holder holder(file, io::LockMode::exclusive);
  CHECK_THROWS_WITH(io::acquire_planned(plan, 0.2), Catch::Contains("held by pid " + std::to_string(holder.pid())));
}

TEST_CASE("a file replaced by rename while its lock was held is locked again under its new inode", "[lock]") {
  TempDir dir;
  const fs::path file = dir / "disk.vmdk";
  write_text(file, "old");
  auto plan = [&] { return std::vector<io::LockRequest>{{file, io::LockMode::shared}}; };
  io::LockSet old_lock = io::acquire_planned(plan, 0);
  write_text(dir / "new", "new");
  fs::rename(dir / "new", file);
  CHECK_FALSE(old_lock.covers(plan()));  // the old inode's lock says nothing about the new file
  io::LockSet again = io::acquire_planned(plan, 0);
  CHECK(again.covers(plan()));
}

TEST_CASE("temporary names are unique per process and call; a killed run's leftover is removed", "[lock]") {
  TempDir dir;
  const fs::path disk = dir / "disk.vmdk";
  // A leftover of a process that no longer runs (pid of a child that has exited).
  pid_t gone = ::fork();
  REQUIRE(gone >= 0);
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  const fs::path stale = dir / (".disk.vmdk." + std::to_string(gone) + "-0badf00d.vmdkit-tmp");
  const fs::path live = dir / (".disk.vmdk." + std::to_string(::getppid()) + "-12345678.vmdkit-tmp");
  write_text(stale, "");
  write_text(live, "");
  ops::TempFile a(disk);
  ops::TempFile b(disk);
  CHECK(a.temp() != b.temp());
  CHECK(a.temp().filename().string().find("." + std::to_string(::getpid()) + "-") != std::string::npos);
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(live));  // its process still runs: it may be writing it
}
