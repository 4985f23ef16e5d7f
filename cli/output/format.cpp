// Human-readable sizes, CID spelling and byte-count parsing for the command line.
#include "output/format.hpp"

#include <cctype>
#include <cstdio>
#include <limits>

#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"

namespace vmdkit_cli {

std::string human_size(std::uint64_t bytes) {
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f %s", value, kUnits[unit]);
  return buffer;
}

std::string cid_hex(std::uint32_t cid) { return vmdk::format_cid(cid); }

std::string dec_hex(std::uint64_t value) { return std::to_string(value) + " (" + vmdk::hex(value) + ")"; }

std::optional<std::uint64_t> parse_size(const std::string& text) {
  std::size_t i = 0;
  unsigned base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    i = 2;
  }
  std::uint64_t value = 0;
  std::size_t digits = 0;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  for (; i < text.size(); ++i, ++digits) {
    int c = static_cast<unsigned char>(text[i]);
    unsigned d;
    if (std::isdigit(c)) d = static_cast<unsigned>(c - '0');
    else if (base == 16 && std::isxdigit(c)) d = static_cast<unsigned>(std::tolower(c) - 'a' + 10);
    else break;
    if (value > (kMax - d) / base) return std::nullopt;
    value = value * base + d;
  }
  if (digits == 0) return std::nullopt;
  std::string suffix = text.substr(i);
  for (auto& ch : suffix) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  unsigned shift = 0;
  if (suffix.empty() || suffix == "B") shift = 0;
  else if (suffix == "K" || suffix == "KIB") shift = 10;
  else if (suffix == "M" || suffix == "MIB") shift = 20;
  else if (suffix == "G" || suffix == "GIB") shift = 30;
  else if (suffix == "T" || suffix == "TIB") shift = 40;
  else if (suffix == "S") shift = 9;  // sectors
  else return std::nullopt;
  if (shift > 0 && value > (kMax >> shift)) return std::nullopt;
  return value << shift;
}

}  // namespace vmdkit_cli
