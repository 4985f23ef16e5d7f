// Lexical rules of the text descriptor (vmdk-format.md 1.2 and 1.6): trimming, case-insensitive
// keywords, decimal numbers, CIDs, extent keywords and the quoting used in error messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vmdk/descriptor.hpp"

namespace vmdk::descriptor_detail {

inline constexpr std::size_t kMaxLines = 10000;
/// Largest sector count whose byte size (x 512) still fits in 64 bits.
inline constexpr std::uint64_t kMaxSectors = UINT64_MAX / 512;

/// Space, tab and CR separate fields; CR counts so that CRLF text parses like LF text.
bool is_blank(char c);
std::string_view trim(std::string_view text);
std::string_view strip_trailing_cr(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
/// ASCII lower case (keys, keywords and file names compared without regard to case).
std::string to_lower(std::string_view text);
bool istarts_with(std::string_view text, std::string_view prefix);

/// Decimal digits only (no sign, no spaces); nullopt when empty, not a number or past u64.
std::optional<std::uint64_t> parse_decimal(std::string_view text);
/// One to eight hex digits (either case); nullopt otherwise.
std::optional<std::uint32_t> parse_cid(std::string_view text);

std::optional<ExtentAccess> access_from(std::string_view word);
std::optional<ExtentType> type_from(std::string_view word);

/// `"text"` for messages: at most 40 bytes, non-printable bytes as \xNN, so garbage stays readable.
std::string excerpt(std::string_view text);

}  // namespace vmdk::descriptor_detail
