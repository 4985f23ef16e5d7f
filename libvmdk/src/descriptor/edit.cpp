// Descriptor accessors and edits: header keys (vmdk-format.md 1.4), CIDs (1.10), extent lines
// (1.6) and the DDB (1.7). Edits are checked so that parse(print()) still returns the descriptor.
#include "descriptor/line.hpp"
#include "descriptor/syntax.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

using namespace descriptor_detail;

namespace {

using Kind = DescriptorLine::Kind;

// An edited line must print to text that parses back to the same line; otherwise the edit would
// silently change the descriptor on its next load (a quote inside a value, a newline, version=4...).
void check_printable(const DescriptorLine& line, const std::vector<ExtentLine>& extents,
                     std::string_view what) {
  std::string text = print_line(line, extents);
  ParsedLine parsed;
  try {
    if (text.find_first_of(std::string_view("\n\0", 2)) != std::string::npos) {
      throw FormatError("", "contains a newline or NUL");
    }
    parsed = parse_line(text, LineSite{});
  } catch (const Error& e) {
    throw UsageError("", "cannot set descriptor " + std::string(what) + ": " + e.message());
  }
  bool same =
      parsed.line.kind == line.kind &&
      (line.kind == Kind::extent ? parsed.extent == extents.at(line.extent_index) : parsed.line == line);
  if (!same) {
    throw UsageError("", "cannot set descriptor " + std::string(what) + ": " + excerpt(text) +
                             " would not read back the same");
  }
}

template <typename Lines>
auto find_line(Lines& lines, Kind kind, std::string_view key) {
  for (auto it = lines.begin(); it != lines.end(); ++it) {
    if (it->kind == kind && iequals(it->key, key)) return it;
  }
  return lines.end();
}

std::size_t after_last(const std::vector<DescriptorLine>& lines, Kind kind, std::size_t otherwise) {
  for (std::size_t i = lines.size(); i > 0; --i) {
    if (lines[i - 1].kind == kind) return i;
  }
  return otherwise;
}

std::vector<std::pair<std::string, std::string>> entries(const std::vector<DescriptorLine>& lines,
                                                         Kind kind) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const DescriptorLine& line : lines) {
    if (line.kind == kind) out.emplace_back(line.key, line.value);
  }
  return out;
}

}  // namespace

std::optional<std::string> Descriptor::header(std::string_view key) const {
  auto it = find_line(lines_, Kind::header, key);
  if (it == lines_.end()) return std::nullopt;
  return it->value;
}

void Descriptor::set_header(std::string_view key, std::string value, bool quoted) {
  DescriptorLine line;
  line.kind = Kind::header;
  line.key = std::string(key);
  line.value = std::move(value);
  line.quoted = quoted;
  auto it = find_line(lines_, Kind::header, key);
  if (it != lines_.end()) line.key = it->key;  // keep the spelling the file used
  check_printable(line, extents_, "header " + excerpt(key));
  if (it != lines_.end()) {
    *it = std::move(line);
    return;
  }
  // No header yet: go before the first content line, i.e. after a leading signature comment.
  std::size_t first_content = lines_.size();
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].kind != Kind::blank && lines_[i].kind != Kind::comment) {
      first_content = i;
      break;
    }
  }
  std::size_t at = after_last(lines_, Kind::header, first_content);
  lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(at), std::move(line));
}

void Descriptor::remove_header(std::string_view key) {
  std::erase_if(lines_, [&](const DescriptorLine& line) {
    return line.kind == Kind::header && iequals(line.key, key);
  });
}

std::uint32_t Descriptor::version() const {
  auto value = header("version");
  auto number = value ? parse_decimal(*value) : std::nullopt;
  return number && *number <= UINT32_MAX ? static_cast<std::uint32_t>(*number) : 1;
}

std::optional<std::uint32_t> Descriptor::cid() const {
  auto value = header("CID");
  return value ? parse_cid(*value) : std::nullopt;
}

std::uint32_t Descriptor::parent_cid() const {
  auto value = header("parentCID");
  auto cid = value ? parse_cid(*value) : std::nullopt;
  return cid.value_or(kNoParentCid);
}

std::string Descriptor::create_type() const {
  return header("createType").value_or("");
}

std::optional<std::string> Descriptor::parent_file_name_hint() const {
  return header("parentFileNameHint");
}

std::optional<std::string> Descriptor::encoding() const {
  return header("encoding");
}

void Descriptor::set_extents(std::vector<ExtentLine> extents) {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < extents.size(); ++i) {
    DescriptorLine line;
    line.kind = Kind::extent;
    line.extent_index = i;
    check_printable(line, extents, "extent " + std::to_string(i));
    if (extents[i].sectors > kMaxSectors - total) {
      throw UsageError("", "cannot set descriptor extents: they add up to more than 2^64 bytes");
    }
    total += extents[i].sectors;
  }
  if (extents.size() == extents_.size()) {
    extents_ = std::move(extents);
    return;
  }
  // Rewrite as one block where the first old extent line was; with none, right after the
  // "# Extent description" comment (1.9: no blank line before an extent line), else after the header.
  std::size_t at = lines_.size();
  bool found = false;
  for (std::size_t i = 0; i < lines_.size() && !found; ++i) {
    if (lines_[i].kind == Kind::extent) {
      at = i;
      found = true;
    }
  }
  // The comment counts only after the version key: parse refuses extent lines above it.
  auto version = find_line(lines_, Kind::header, "version");
  std::size_t comment_from =
      version == lines_.end() ? 0 : static_cast<std::size_t>(version - lines_.begin()) + 1;
  for (std::size_t i = comment_from; i < lines_.size() && !found; ++i) {
    if (lines_[i].kind == Kind::comment && iequals(trim(lines_[i].value), "# Extent description")) {
      at = i + 1;
      found = true;
    }
  }
  if (!found) at = after_last(lines_, Kind::header, lines_.size());
  std::erase_if(lines_, [](const DescriptorLine& line) { return line.kind == Kind::extent; });
  std::vector<DescriptorLine> block(extents.size());
  for (std::size_t i = 0; i < block.size(); ++i) {
    block[i].kind = Kind::extent;
    block[i].extent_index = i;
  }
  lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(at), block.begin(), block.end());
  extents_ = std::move(extents);
}

std::optional<std::string> Descriptor::ddb(std::string_view key) const {
  auto it = find_line(lines_, Kind::ddb, key);
  if (it == lines_.end()) return std::nullopt;
  return it->value;
}

void Descriptor::set_ddb(std::string_view key, std::string value) {
  DescriptorLine line;
  line.kind = Kind::ddb;
  line.key = std::string(key);
  line.value = std::move(value);
  line.quoted = true;
  auto it = find_line(lines_, Kind::ddb, key);
  if (it != lines_.end()) line.key = it->key;
  check_printable(line, extents_, "ddb entry " + excerpt(key));
  if (it != lines_.end()) {
    *it = std::move(line);
    return;
  }
  std::size_t at = after_last(lines_, Kind::ddb, lines_.size());
  lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(at), std::move(line));
}

std::vector<std::pair<std::string, std::string>> Descriptor::ddb_entries() const {
  return entries(lines_, Kind::ddb);
}

std::vector<std::pair<std::string, std::string>> Descriptor::header_entries() const {
  return entries(lines_, Kind::header);
}

}  // namespace vmdk
