// Progress bar drawing: one line on stderr, redrawn at most ~10 times a second, cleared at the end.
#include "output/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "output/format.hpp"

namespace vmdkit_cli {

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), active_(enabled && ::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(std::uint64_t done, std::uint64_t total) {
  if (!active_) return;
  int permille = total == 0 ? 1000 : static_cast<int>(static_cast<double>(done) * 1000.0 / static_cast<double>(total));
  auto now = std::chrono::steady_clock::now();
  if (permille == last_permille_) return;
  if (drawn_ && permille < 1000 && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_permille_ = permille;
  last_draw_ = now;
  constexpr int kWidth = 30;
  int filled = permille * kWidth / 1000;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(kWidth - filled), '-');
  std::fprintf(stderr, "\r%s [%s] %5.1f%% %s / %s\033[K", label_.c_str(), bar.c_str(), permille / 10.0,
               human_size(done).c_str(), human_size(total).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (active_ && drawn_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
  drawn_ = false;
}

}  // namespace vmdkit_cli
