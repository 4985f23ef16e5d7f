// A progress bar on stderr for long work (convert, compare, cat), shown only on a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vmdkit_cli {

class ProgressBar {
 public:
  /// Shown only when enabled and stderr is a terminal.
  ProgressBar(std::string label, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(std::uint64_t done, std::uint64_t total);
  /// Clears the bar's line (also done by the destructor).
  void finish();
  bool active() const { return active_; }

 private:
  std::string label_;
  bool active_ = false;
  bool drawn_ = false;
  int last_permille_ = -1;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace vmdkit_cli
