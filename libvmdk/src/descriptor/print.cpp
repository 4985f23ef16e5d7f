// Descriptor::print: the canonical text of vmdk-format.md 1.2 (LF endings, `key=value` header
// lines, single-spaced extent lines, `ddb.key = "value"`), comments and blank lines in place.
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

}  // namespace vmdk
