// Descriptor::print: the canonical text of vmdk-format.md 1.2 (LF endings, `key=value` header
// lines, single-spaced extent lines, `ddb.key = "value"`), comments and blank lines in place;
// Descriptor::print_preserving: the text as read, with only the edited lines changed.
#include "descriptor/line.hpp"
#include "vmdk/descriptor.hpp"

namespace vmdk {

std::string Descriptor::print() const {
  std::string out;
  for (const DescriptorLine& line : lines_) {
    out += descriptor_detail::print_line(line, extents_);
    out += '\n';
  }
  return out;
}

std::string Descriptor::print_preserving() const {
  std::string out;
  for (const DescriptorLine& line : lines_) {
    // A line added after a last line that had no line ending must not run on from it.
    if (!out.empty() && out.back() != '\n') out += '\n';
    if (line.raw) {
      out += *line.raw;
    } else {
      out += descriptor_detail::print_line(line, extents_);
      out += '\n';
    }
  }
  out.append(nul_padding_, '\0');
  return out;
}

}  // namespace vmdk
