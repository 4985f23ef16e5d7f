// Control characters from disk files (extent names, hints, ddb values, paths) made visible before
// they reach a terminal, where ESC, BEL and CR could recolour, retitle or overwrite what is shown.
#pragma once

#include <streambuf>
#include <string>
#include <string_view>

namespace vmdkit_cli {

/// text with every C0 control (except '\n' when keep_newlines), DEL, C1 control (U+0080..U+009F)
/// and byte of invalid UTF-8 written as \xHH, one escape per byte; valid UTF-8 (the tree's box
/// characters, accented names) passes unchanged. Backslashes are not doubled.
std::string escape_controls(std::string_view text, bool keep_newlines = true);

/// A stream buffer that escapes what is written through it (escape_controls, newlines kept) and
/// passes it to target line by line, so that a UTF-8 sequence is never split between escapes.
class EscapingBuffer final : public std::streambuf {
 public:
  explicit EscapingBuffer(std::streambuf* target) : target_(target) {}
  ~EscapingBuffer() override { sync(); }
  EscapingBuffer(const EscapingBuffer&) = delete;
  EscapingBuffer& operator=(const EscapingBuffer&) = delete;

 protected:
  int_type overflow(int_type ch) override;
  std::streamsize xsputn(const char* data, std::streamsize count) override;
  int sync() override;

 private:
  void pass_lines();
  std::streambuf* target_;
  std::string pending_;
};

}  // namespace vmdkit_cli
