// Small spellings shared by the text and JSON printers: human sizes, CIDs, hex offsets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vmdkit_cli {

/// "512 B", "64.0 KiB", "1.5 GiB" (binary units, one decimal).
std::string human_size(std::uint64_t bytes);
/// "0000abcd": CIDs as VMware writes them, 8 lowercase hex digits.
std::string cid_hex(std::uint32_t cid);
/// "1048576 (0x100000)".
std::string dec_hex(std::uint64_t value);
/// Parses a byte count: decimal, 0x hex, with an optional K/M/G/T (KiB...) suffix.
/// Returns nullopt for anything else (negative numbers, overflow, junk).
std::optional<std::uint64_t> parse_size(const std::string& text);

}  // namespace vmdkit_cli
