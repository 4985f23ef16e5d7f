// Parsing and printing of single descriptor lines (vmdk-format.md 1.2 lexical rules, 1.4 header
// keys, 1.6 extent lines, 1.7 ddb entries). Liberal on input, canonical on output.
#include "descriptor/line.hpp"

#include "descriptor/syntax.hpp"
#include "vmdk/error.hpp"

namespace vmdk::descriptor_detail {

namespace {

struct Assignment {
  std::string_view key;
  std::string_view value;
  bool quoted = false;
};

// `key = value` or `key = "value"`; `what` names the line kind in messages.
Assignment parse_assignment(std::string_view body, std::string_view what, const LineSite& site) {
  std::size_t eq = body.find('=');
  if (eq == std::string_view::npos) fail(site, std::string(what) + " has no '='");
  Assignment out;
  out.key = trim(body.substr(0, eq));
  if (out.key.empty()) fail(site, std::string(what) + " has an empty key");
  for (char c : out.key) {
    if (is_blank(c)) fail(site, std::string(what) + " has a bad key " + excerpt(out.key));
  }
  // A byte-order mark belongs at the start of the text only (parse drops it there); one that starts
  // a key would vanish when the line is printed first, and the key would read back differently.
  if (out.key.starts_with("\xEF\xBB\xBF")) {
    fail(site, std::string(what) + " has a key that starts with a byte-order mark " + excerpt(out.key));
  }
  std::string_view rest = trim(body.substr(eq + 1));
  if (!rest.empty() && rest.front() == '"') {
    std::size_t close = rest.find('"', 1);
    if (close == std::string_view::npos) fail(site, std::string(what) + " has an unterminated quote");
    if (!trim(rest.substr(close + 1)).empty()) {
      fail(site, std::string(what) + " has text after the closing quote: " + excerpt(rest.substr(close + 1)));
    }
    out.value = rest.substr(1, close - 1);
    out.quoted = true;
  } else {
    out.value = rest;
  }
  return out;
}

// Header keys whose values the rest of the library interprets are checked here, so that a parsed
// descriptor always answers version(), cid() and parent_cid() meaningfully.
void check_header_value(const Assignment& a, const LineSite& site) {
  if (iequals(a.key, "version")) {
    bool digits = !a.value.empty() && a.value.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits) fail(site, "header version has a bad value " + excerpt(a.value));
    auto version = parse_decimal(a.value);
    if (!version || *version < 1 || *version > 3) {
      throw UnsupportedError(std::string(site.file),
                             "line " + std::to_string(site.number) + ": unsupported descriptor version " +
                                 excerpt(a.value) + " (1, 2 and 3 are known)",
                             site.offset);
    }
  } else if (iequals(a.key, "CID") || iequals(a.key, "parentCID")) {
    if (!parse_cid(a.value)) {
      fail(site, "header " + std::string(iequals(a.key, "CID") ? "CID" : "parentCID") + " has a bad value " +
                     excerpt(a.value) + " (expected 1 to 8 hex digits)");
    }
  }
}

struct Field {
  std::string_view text;  // without quotes
  std::string_view raw;   // as written
  bool quoted = false;
};

// Fields are separated by blanks; a field that opens with '"' runs to the next '"' (file names may
// hold spaces) and must be followed by a blank or the end of the line.
std::vector<Field> split_fields(std::string_view body, const LineSite& site) {
  std::vector<Field> fields;
  std::size_t i = 0;
  while (i < body.size()) {
    if (is_blank(body[i])) {
      ++i;
      continue;
    }
    Field field;
    if (body[i] == '"') {
      std::size_t close = body.find('"', i + 1);
      if (close == std::string_view::npos) fail(site, "extent line has an unterminated quote");
      if (close + 1 < body.size() && !is_blank(body[close + 1])) {
        fail(site, "extent line has text right after a closing quote");
      }
      field.text = body.substr(i + 1, close - i - 1);
      field.raw = body.substr(i, close + 1 - i);
      field.quoted = true;
      i = close + 1;
    } else {
      std::size_t end = i;
      while (end < body.size() && !is_blank(body[end])) ++end;
      field.text = field.raw = body.substr(i, end - i);
      i = end;
    }
    fields.push_back(field);
  }
  return fields;
}

std::uint64_t parse_sector_field(const Field& field, std::string_view name, const LineSite& site) {
  auto value = field.quoted ? std::nullopt : parse_decimal(field.text);
  if (!value) fail(site, "extent line has a bad " + std::string(name) + " " + excerpt(field.raw));
  if (*value > kMaxSectors) {
    fail(site, "extent line " + std::string(name) + " " + std::to_string(*value) +
                   " is too large (its byte size overflows 64 bits)");
  }
  return *value;
}

ExtentLine parse_extent(std::string_view body, const LineSite& site) {
  std::vector<Field> fields = split_fields(body, site);
  ExtentLine extent;
  extent.access = *access_from(fields.at(0).text);  // the caller classified the line by this word
  if (fields.size() < 2) fail(site, "extent line has no sector count");
  extent.sectors = parse_sector_field(fields[1], "sector count", site);
  if (fields.size() < 3) fail(site, "extent line has no extent type");
  auto type = fields[2].quoted ? std::nullopt : type_from(fields[2].text);
  if (!type) fail(site, "extent line has an unknown extent type " + excerpt(fields[2].raw));
  extent.type = *type;
  if (fields.size() >= 4) {
    const Field& name = fields[3];
    // An unquoted name with a quote inside could not be printed back as one quoted field.
    if (!name.quoted && name.text.find('"') != std::string_view::npos) {
      fail(site, "extent line has a bad file name " + excerpt(name.raw));
    }
    extent.file = std::string(name.text);
  }
  if (extent.type != ExtentType::zero && extent.file.empty()) {
    fail(site, "extent line has no file name (" + std::string(to_string(extent.type)) + " extents need one)");
  }
  if (fields.size() >= 5) extent.offset = parse_sector_field(fields[4], "offset", site);
  for (std::size_t i = 5; i < fields.size(); ++i) extent.extra.emplace_back(fields[i].raw);
  return extent;
}

std::string quoted_if(std::string_view value, bool quoted) {
  return quoted ? "\"" + std::string(value) + "\"" : std::string(value);
}

}  // namespace

void fail(const LineSite& site, const std::string& problem) {
  throw FormatError(std::string(site.file), "line " + std::to_string(site.number) + ": " + problem,
                    site.offset);
}

ParsedLine parse_line(std::string_view raw, const LineSite& site) {
  ParsedLine out;
  std::string_view body = trim(raw);
  if (body.empty()) return out;  // blank
  if (body.front() == '#') {
    // Comments are kept verbatim (leading blanks and trailing spaces too: ESXi writes
    // "# The Disk Data Base "), only the CR of a CRLF ending goes.
    out.line.kind = DescriptorLine::Kind::comment;
    out.line.value = std::string(strip_trailing_cr(raw));
    return out;
  }
  std::string_view first_word = body.substr(0, std::min(body.size(), body.find_first_of(" \t\r")));
  if (access_from(first_word)) {
    out.line.kind = DescriptorLine::Kind::extent;
    out.extent = parse_extent(body, site);
    return out;
  }
  bool ddb = istarts_with(body, "ddb.");
  if (!ddb && body.find('=') == std::string_view::npos) {
    fail(site, "line is not a header key, extent or ddb entry: " + excerpt(body));
  }
  Assignment a = parse_assignment(body, ddb ? "ddb entry" : "header line", site);
  if (!ddb) check_header_value(a, site);
  out.line.kind = ddb ? DescriptorLine::Kind::ddb : DescriptorLine::Kind::header;
  out.line.key = std::string(a.key);
  out.line.value = std::string(a.value);
  out.line.quoted = a.quoted;
  return out;
}

std::string print_extent(const ExtentLine& extent) {
  std::string out = std::string(to_string(extent.access)) + " " + std::to_string(extent.sectors) + " " +
                    std::string(to_string(extent.type));
  // A ZERO extent has no file; the name is only written when something follows it.
  if (!extent.file.empty() || extent.offset || !extent.extra.empty()) out += " \"" + extent.file + "\"";
  if (extent.offset) out += " " + std::to_string(*extent.offset);
  for (const std::string& field : extent.extra) out += " " + field;
  return out;
}

std::string print_line(const DescriptorLine& line, const std::vector<ExtentLine>& extents) {
  switch (line.kind) {
    case DescriptorLine::Kind::blank:
      return {};
    case DescriptorLine::Kind::comment:
      return line.value;
    case DescriptorLine::Kind::header:
      return line.key + "=" + quoted_if(line.value, line.quoted);
    case DescriptorLine::Kind::extent:
      return line.extent_index < extents.size() ? print_extent(extents[line.extent_index]) : std::string();
    case DescriptorLine::Kind::ddb:
      return line.key + " = " + quoted_if(line.value, line.quoted);
  }
  return {};
}

std::string_view raw_ending(std::string_view raw) {
  std::size_t length = 0;
  if (length < raw.size() && raw[raw.size() - 1 - length] == '\n') ++length;
  if (length < raw.size() && raw[raw.size() - 1 - length] == '\r') ++length;
  return raw.substr(raw.size() - length);
}

std::string_view raw_content(std::string_view raw) {
  std::string_view content = raw.substr(0, raw.size() - raw_ending(raw).size());
  // Only a first line can start with byte-order marks (parse drops them there and refuses them
  // anywhere else), so dropping them here reads every raw line as parse did.
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  while (content.starts_with(kByteOrderMark)) content.remove_prefix(kByteOrderMark.size());
  return content;
}

std::string raw_with_value(std::string_view raw, std::string_view value, bool quoted) {
  const std::string_view ending = raw_ending(raw);
  const std::string_view content = raw.substr(0, raw.size() - ending.size());
  const std::size_t eq = content.find('=');
  std::size_t value_start = eq == std::string_view::npos ? content.size() : eq + 1;
  while (value_start < content.size() && (content[value_start] == ' ' || content[value_start] == '\t')) {
    ++value_start;
  }
  return std::string(content.substr(0, value_start)) + quoted_if(value, quoted) + std::string(ending);
}

std::string raw_with_extent(std::string_view raw, const ExtentLine& before, const ExtentLine& after) {
  const std::string_view ending = raw_ending(raw);
  ExtentLine renamed = before;
  renamed.file = after.file;
  if (renamed == after) {
    const std::string_view content = raw.substr(0, raw.size() - ending.size());
    const std::vector<Field> fields = split_fields(content, LineSite{});
    if (fields.size() >= 4) {
      const auto start = static_cast<std::size_t>(fields[3].raw.data() - content.data());
      return std::string(content.substr(0, start)) + "\"" + after.file + "\"" +
             std::string(content.substr(start + fields[3].raw.size())) + std::string(ending);
    }
  }
  return print_extent(after) + std::string(ending);
}

}  // namespace vmdk::descriptor_detail
