// escape_controls and EscapingBuffer: text output and messages show bytes from files, so every
// byte a terminal would act on is printed as \xHH instead (JSON escapes by itself).
#include "output/escape.hpp"

#include <cstdint>

namespace vmdkit_cli {

namespace {

// Length of the valid UTF-8 sequence starting at text[at], or 0 when it is not one (overlong
// forms, surrogates and code points past U+10FFFF are invalid too).
std::size_t utf8_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[at + i]); };
  const std::uint8_t lead = byte(0);
  std::size_t length = 0;
  std::uint32_t point = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    point = lead & 0x1fu;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    point = lead & 0x0fu;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    point = lead & 0x07u;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0u) != 0x80u) return 0;
    point = (point << 6) | (byte(i) & 0x3fu);
  }
  const bool overlong = (length == 3 && point < 0x800) || (length == 4 && point < 0x10000);
  const bool surrogate = point >= 0xd800 && point <= 0xdfff;
  if (overlong || surrogate || point > 0x10ffff) return 0;
  return length;
}

void append_escaped(std::string& out, std::uint8_t byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0x0f];
}

}  // namespace

std::string escape_controls(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const auto byte = static_cast<std::uint8_t>(text[at]);
    if (byte < 0x80) {
      const bool control = byte < 0x20 || byte == 0x7f;
      if (control && !(keep_newlines && byte == '\n')) {
        append_escaped(out, byte);
      } else {
        out += static_cast<char>(byte);
      }
      ++at;
      continue;
    }
    const std::size_t length = utf8_length(text, at);
    // C1 controls (U+0080..U+009F, "\xc2\x80".."\xc2\x9f") act like ESC sequences on some terminals.
    const bool c1 = length == 2 && byte == 0xc2 && static_cast<std::uint8_t>(text[at + 1]) < 0xa0;
    if (length == 0 || c1) {
      for (std::size_t i = 0; i < (length == 0 ? 1 : length); ++i) {
        append_escaped(out, static_cast<std::uint8_t>(text[at + i]));
      }
      at += length == 0 ? 1 : length;
      continue;
    }
    out.append(text.substr(at, length));
    at += length;
  }
  return out;
}

EscapingBuffer::int_type EscapingBuffer::overflow(int_type ch) {
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  pending_ += traits_type::to_char_type(ch);
  if (ch == '\n') pass_lines();
  return ch;
}

std::streamsize EscapingBuffer::xsputn(const char* data, std::streamsize count) {
  pending_.append(data, static_cast<std::size_t>(count));
  pass_lines();
  return count;
}

int EscapingBuffer::sync() {
  if (!pending_.empty()) {
    const std::string escaped = escape_controls(pending_);
    target_->sputn(escaped.data(), static_cast<std::streamsize>(escaped.size()));
    pending_.clear();
  }
  return target_->pubsync();
}

// Complete lines go on at once (output order with other writers stays as written); a partial
// line waits for its end or for sync().
void EscapingBuffer::pass_lines() {
  const std::size_t end = pending_.rfind('\n');
  if (end == std::string::npos) return;
  const std::string escaped = escape_controls(std::string_view(pending_).substr(0, end + 1));
  target_->sputn(escaped.data(), static_cast<std::streamsize>(escaped.size()));
  pending_.erase(0, end + 1);
}

}  // namespace vmdkit_cli
