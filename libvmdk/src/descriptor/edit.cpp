// Descriptor accessors and edits: header keys (vmdk-format.md 1.4), CIDs (1.10), extent lines
// (1.6) and the DDB (1.7). Edits are checked so that parse(print()) and parse(print_preserving())
// still return the descriptor; a line read from text keeps its raw text around the changed value.
#include "descriptor/line.hpp"
#include "descriptor/syntax.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

using namespace descriptor_detail;

namespace {

using Kind = DescriptorLine::Kind;

// The text a line would read back from: its raw text where it keeps one, else its canonical text.
std::string_view edit_readback_text(const DescriptorLine& line, const std::string& canonical) {
  return line.raw ? raw_content(*line.raw) : std::string_view(canonical);
}

// An edited line must print to text that parses back to the same line, both canonically (print)
// and as it will be stored (print_preserving); otherwise the edit would silently change the
// descriptor on its next load (a quote inside a value, a newline, version=4...).
void check_printable(const DescriptorLine& line, const std::vector<ExtentLine>& extents,
                     std::string_view what) {
  const std::string canonical = print_line(line, extents);
  for (std::string_view text : {std::string_view(canonical), edit_readback_text(line, canonical)}) {
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
}

// Gives an existing header or ddb line a new value; a line read from text keeps its key, spacing
// and line ending around the new value. Nothing changes when the result would not read back.
void edit_assign_value(DescriptorLine& target, const std::vector<ExtentLine>& extents, std::string value,
                       bool quoted, std::string_view what) {
  DescriptorLine line = target;
  line.value = std::move(value);
  line.quoted = quoted;
  if (target.raw) line.raw = raw_with_value(*target.raw, line.value, quoted);
  check_printable(line, extents, what);
  target = std::move(line);
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

// Every new extent line must print and read back, and together they must stay below 2^64 bytes.
void edit_check_extents(const std::vector<ExtentLine>& extents) {
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
}

// Same count: each extent line stays where it is; an unchanged one keeps its raw text, a changed
// one read from text gets its new raw text (only the file name replaced where only that changed).
// All new raw texts are checked before any line changes.
void edit_keep_extent_positions(std::vector<DescriptorLine>& lines, const std::vector<ExtentLine>& before,
                                const std::vector<ExtentLine>& after) {
  std::vector<std::pair<std::size_t, DescriptorLine>> changed;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const DescriptorLine& line = lines[i];
    if (line.kind != Kind::extent || !line.raw) continue;
    const std::size_t index = line.extent_index;
    if (before.at(index) == after.at(index)) continue;
    DescriptorLine edited = line;
    edited.raw = raw_with_extent(*line.raw, before[index], after[index]);
    check_printable(edited, after, "extent " + std::to_string(index));
    changed.emplace_back(i, std::move(edited));
  }
  for (auto& [at, edited] : changed) lines[at] = std::move(edited);
}

// New count: one block of canonical lines where the first old extent line was; with none, right
// after the "# Extent description" comment (1.9: no blank line before an extent line), else after
// the header.
void edit_place_extent_block(std::vector<DescriptorLine>& lines, std::size_t count) {
  std::size_t at = lines.size();
  bool found = false;
  for (std::size_t i = 0; i < lines.size() && !found; ++i) {
    if (lines[i].kind == Kind::extent) {
      at = i;
      found = true;
    }
  }
  // The comment counts only after the version key: parse refuses extent lines above it.
  auto version = find_line(lines, Kind::header, "version");
  std::size_t comment_from =
      version == lines.end() ? 0 : static_cast<std::size_t>(version - lines.begin()) + 1;
  for (std::size_t i = comment_from; i < lines.size() && !found; ++i) {
    if (lines[i].kind == Kind::comment && iequals(trim(lines[i].value), "# Extent description")) {
      at = i + 1;
      found = true;
    }
  }
  if (!found) at = after_last(lines, Kind::header, lines.size());
  std::erase_if(lines, [](const DescriptorLine& line) { return line.kind == Kind::extent; });
  std::vector<DescriptorLine> block(count);
  for (std::size_t i = 0; i < block.size(); ++i) {
    block[i].kind = Kind::extent;
    block[i].extent_index = i;
  }
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), block.begin(), block.end());
}

}  // namespace

std::optional<std::string> Descriptor::header(std::string_view key) const {
  auto it = find_line(lines_, Kind::header, key);
  if (it == lines_.end()) return std::nullopt;
  return it->value;
}

void Descriptor::set_header(std::string_view key, std::string value, bool quoted) {
  const std::string what = "header " + excerpt(key);
  auto it = find_line(lines_, Kind::header, key);
  if (it != lines_.end()) {
    edit_assign_value(*it, extents_, std::move(value), quoted, what);  // keeps the file's spelling
    return;
  }
  DescriptorLine line;
  line.kind = Kind::header;
  line.key = std::string(key);
  line.value = std::move(value);
  line.quoted = quoted;
  check_printable(line, extents_, what);
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

void Descriptor::set_cid(std::uint32_t cid) {
  set_header("CID", format_cid(cid), false);
}

void Descriptor::set_parent_cid(std::uint32_t cid) {
  set_header("parentCID", format_cid(cid), false);
}

void Descriptor::set_parent_file_name_hint(std::string hint) {
  set_header("parentFileNameHint", std::move(hint), true);
}

void Descriptor::set_line_value(std::size_t index, std::string value, bool quoted) {
  const std::string what = "line " + std::to_string(index + 1);
  if (index >= lines_.size()) {
    throw UsageError(
        "", "cannot set descriptor " + what + ": it has " + std::to_string(lines_.size()) + " lines");
  }
  DescriptorLine& line = lines_[index];
  if (line.kind != Kind::header && line.kind != Kind::ddb) {
    throw UsageError("", "cannot set descriptor " + what + ": it is not a header or ddb line");
  }
  const std::string key_what = (line.kind == Kind::ddb ? "ddb entry " : "header ") + excerpt(line.key);
  edit_assign_value(line, extents_, std::move(value), quoted, key_what);
}

void Descriptor::remove_line(std::size_t index) {
  const std::string what = "line " + std::to_string(index + 1);
  if (index >= lines_.size()) {
    throw UsageError(
        "", "cannot remove descriptor " + what + ": it has " + std::to_string(lines_.size()) + " lines");
  }
  if (lines_[index].kind == Kind::extent) {
    throw UsageError(
        "", "cannot remove descriptor " + what + ": it is an extent line (set_extents changes those)");
  }
  lines_.erase(lines_.begin() + static_cast<std::ptrdiff_t>(index));
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
  edit_check_extents(extents);
  if (extents.size() == extents_.size()) {
    edit_keep_extent_positions(lines_, extents_, extents);
  } else {
    edit_place_extent_block(lines_, extents.size());
  }
  extents_ = std::move(extents);
}

void Descriptor::set_extent_file(std::size_t index, std::string file) {
  if (index >= extents_.size()) {
    throw UsageError("", "cannot set the file of descriptor extent " + std::to_string(index) +
                             ": there are " + std::to_string(extents_.size()) + " extents");
  }
  std::vector<ExtentLine> extents = extents_;
  extents[index].file = std::move(file);
  set_extents(std::move(extents));
}

std::optional<std::string> Descriptor::ddb(std::string_view key) const {
  auto it = find_line(lines_, Kind::ddb, key);
  if (it == lines_.end()) return std::nullopt;
  return it->value;
}

void Descriptor::set_ddb(std::string_view key, std::string value) {
  const std::string what = "ddb entry " + excerpt(key);
  auto it = find_line(lines_, Kind::ddb, key);
  if (it != lines_.end()) {
    edit_assign_value(*it, extents_, std::move(value), true, what);
    return;
  }
  DescriptorLine line;
  line.kind = Kind::ddb;
  line.key = std::string(key);
  line.value = std::move(value);
  line.quoted = true;
  check_printable(line, extents_, what);
  std::size_t at = after_last(lines_, Kind::ddb, lines_.size());
  lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(at), std::move(line));
}

void Descriptor::remove_ddb(std::string_view key) {
  std::erase_if(lines_,
                [&](const DescriptorLine& line) { return line.kind == Kind::ddb && iequals(line.key, key); });
}

std::vector<std::size_t> Descriptor::lines_of(std::string_view key) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    const DescriptorLine& line = lines_[i];
    if ((line.kind == Kind::header || line.kind == Kind::ddb) && iequals(line.key, key)) out.push_back(i);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Descriptor::ddb_entries() const {
  return entries(lines_, Kind::ddb);
}

std::vector<std::pair<std::string, std::string>> Descriptor::header_entries() const {
  return entries(lines_, Kind::header);
}

}  // namespace vmdk
