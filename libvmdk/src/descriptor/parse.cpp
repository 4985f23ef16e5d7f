// Descriptor::parse and looks_like_descriptor: splits descriptor text into lines (LF or CRLF,
// NUL padding ends the text, more text after a NUL is refused) and enforces the whole-text rules
// of vmdk-format.md 1.1-1.4.
#include "descriptor/line.hpp"
#include "descriptor/syntax.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

using namespace descriptor_detail;

namespace {
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Readers stop the text at the first NUL: embedded descriptors are NUL padded (1.1).
std::string_view until_nul(std::string_view text) {
  return text.substr(0, text.find('\0'));
}
// NUL padding ends a descriptor; a NUL with more text after it is binary data where lines are
// expected, and stopping there would silently drop the lines that follow (a disk of 0 bytes when
// they are the extent lines).
void refuse_text_after_nul(std::string_view text, std::string_view file) {
  const std::size_t nul = text.find('\0');
  if (nul == std::string_view::npos || text.find_first_not_of('\0', nul) == std::string_view::npos) return;
  throw FormatError(std::string(file), "descriptor text has a NUL byte at " + hex(nul) +
                                           " followed by more text: binary data where lines are expected",
                    nul);
}
}  // namespace

bool looks_like_descriptor(std::string_view head) {
  head = until_nul(head);
  while (head.starts_with(kUtf8Bom)) head.remove_prefix(kUtf8Bom.size());
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t newline = head.find('\n', pos);
    std::size_t end = newline == std::string_view::npos ? head.size() : newline;
    std::string_view body = trim(head.substr(pos, end - pos));
    if (!body.empty() && body.front() != '#') {
      if (!istarts_with(body, "version")) return false;
      std::string_view rest = body.substr(7);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      return !rest.empty() && rest.front() == '=';
    }
    if (newline == std::string_view::npos) break;
    pos = newline + 1;
  }
  return false;
}

Descriptor Descriptor::parse(std::string_view text, std::string_view file) {
  refuse_text_after_nul(text, file);
  Descriptor out;
  out.nul_padding_ = text.size() - until_nul(text).size();
  text = until_nul(text);
  bool have_version = false;
  std::uint64_t total_sectors = 0;
  std::size_t number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t newline = text.find('\n', pos);
    std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    LineSite site{file, ++number, pos};
    if (number > kMaxLines) fail(site, "descriptor has more than " + std::to_string(kMaxLines) + " lines");
    const std::size_t next = newline == std::string_view::npos ? text.size() : newline + 1;
    std::string_view raw = text.substr(pos, end - pos);
    // Every leading BOM goes, so that no line-1 value can start with one and print back differently.
    while (number == 1 && raw.starts_with(kUtf8Bom)) raw.remove_prefix(kUtf8Bom.size());

    ParsedLine parsed = parse_line(raw, site);
    DescriptorLine& line = parsed.line;
    if (line.kind == DescriptorLine::Kind::header && iequals(line.key, "version")) have_version = true;
    if ((line.kind == DescriptorLine::Kind::extent || line.kind == DescriptorLine::Kind::ddb) &&
        !have_version) {
      fail(site, std::string(line.kind == DescriptorLine::Kind::extent ? "extent line" : "ddb entry") +
                     " before any version key (not a descriptor)");
    }
    if (parsed.extent) {
      if (parsed.extent->sectors > kMaxSectors - total_sectors) {
        fail(site, "extents add up to more than 2^64 bytes");
      }
      total_sectors += parsed.extent->sectors;
      line.extent_index = out.extents_.size();
      out.extents_.push_back(std::move(*parsed.extent));
    }
    line.raw = std::string(text.substr(pos, next - pos));  // byte-order marks and line ending included
    out.lines_.push_back(std::move(line));
    pos = next;
  }
  if (!have_version) throw FormatError(std::string(file), "not a descriptor: no version key", 0);
  return out;
}

}  // namespace vmdk
