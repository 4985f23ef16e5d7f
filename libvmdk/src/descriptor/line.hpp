// One descriptor line: classification (blank, comment, header, extent, ddb), parsing and printing
// (vmdk-format.md 1.2-1.7). Parsing and printing are exact inverses for every line parse accepts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmdk/descriptor.hpp"

namespace vmdk::descriptor_detail {

/// Where a line sits, for error messages: `<file>: line <number>: <problem>` at byte `offset`.
struct LineSite {
  std::string_view file;
  std::size_t number = 1;
  std::uint64_t offset = 0;
};

[[noreturn]] void fail(const LineSite& site, const std::string& problem);

struct ParsedLine {
  DescriptorLine line;
  std::optional<ExtentLine> extent;  ///< set for extent lines (line.extent_index left 0)
};

/// Parses one line (without its LF). Throws FormatError for a malformed line, UnsupportedError
/// for a `version` other than 1, 2, 3.
ParsedLine parse_line(std::string_view raw, const LineSite& site);

/// The canonical text of one line, without LF. `extents` resolves extent_index.
std::string print_line(const DescriptorLine& line, const std::vector<ExtentLine>& extents);
std::string print_extent(const ExtentLine& extent);

/// The line ending of a raw line: its LF and one CR before it ("\r\n", "\n"; "\r" or "" on a
/// last line without LF).
std::string_view raw_ending(std::string_view raw);
/// What parse_line reads of a raw line: without its ending and without a leading byte-order mark.
std::string_view raw_content(std::string_view raw);
/// raw (a header or ddb line) with only its value replaced: the text up to '=' and the blanks
/// after it, and the line ending, stay as they were.
std::string raw_with_value(std::string_view raw, std::string_view value, bool quoted);
/// raw (an extent line that read as `before`) changed to say `after`: when only the file name
/// differs and the line has one, that field alone is replaced; otherwise the canonical text with
/// the old line ending.
std::string raw_with_extent(std::string_view raw, const ExtentLine& before, const ExtentLine& after);

}  // namespace vmdk::descriptor_detail
