// Lexical helpers of the text descriptor (vmdk-format.md 1.2, 1.6): keywords are matched
// case-insensitively, numbers strictly (digits only, overflow refused).
#include "descriptor/syntax.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <utility>

namespace vmdk::descriptor_detail {

namespace {
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr std::array<std::pair<std::string_view, ExtentAccess>, 3> kAccessWords{{
    {"RW", ExtentAccess::rw},
    {"RDONLY", ExtentAccess::rdonly},
    {"NOACCESS", ExtentAccess::noaccess},
}};
constexpr std::array<std::pair<std::string_view, ExtentType>, 8> kTypeWords{{
    {"FLAT", ExtentType::flat},
    {"SPARSE", ExtentType::sparse},
    {"ZERO", ExtentType::zero},
    {"VMFS", ExtentType::vmfs},
    {"VMFSSPARSE", ExtentType::vmfssparse},
    {"SESPARSE", ExtentType::sesparse},
    {"VMFSRDM", ExtentType::vmfsrdm},
    {"VMFSRAW", ExtentType::vmfsraw},
}};
}  // namespace

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view strip_trailing_cr(std::string_view text) {
  while (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<std::uint32_t> parse_cid(std::string_view text) {
  if (text.empty() || text.size() > 8) return std::nullopt;
  std::uint32_t value = 0;
  for (char c : text) {
    std::uint32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint32_t>(c - '0');
    } else if (lower(c) >= 'a' && lower(c) <= 'f') {
      digit = static_cast<std::uint32_t>(lower(c) - 'a' + 10);
    } else {
      return std::nullopt;
    }
    value = (value << 4) | digit;
  }
  return value;
}

std::optional<ExtentAccess> access_from(std::string_view word) {
  for (const auto& [name, access] : kAccessWords) {
    if (iequals(word, name)) return access;
  }
  return std::nullopt;
}

std::optional<ExtentType> type_from(std::string_view word) {
  for (const auto& [name, type] : kTypeWords) {
    if (iequals(word, name)) return type;
  }
  return std::nullopt;
}

std::string excerpt(std::string_view text) {
  constexpr std::size_t kMaxShown = 40;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7f && byte != '"' && byte != '\\') {
      out += static_cast<char>(byte);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned>(byte));
      out += escaped;
    }
  }
  if (text.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

}  // namespace vmdk::descriptor_detail

namespace vmdk {

std::string format_cid(std::optional<std::uint32_t> cid) {
  if (!cid) return "(none)";
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%08x", *cid);
  return buffer;
}

bool is_ddb_key(std::string_view key) {
  return descriptor_detail::istarts_with(key, "ddb.");
}

std::string_view to_string(ExtentAccess access) {
  for (const auto& [name, value] : descriptor_detail::kAccessWords) {
    if (value == access) return name;
  }
  return "UNKNOWN";
}

std::string_view to_string(ExtentType type) {
  for (const auto& [name, value] : descriptor_detail::kTypeWords) {
    if (value == type) return name;
  }
  return "UNKNOWN";
}

}  // namespace vmdk
