// The default Extent::map: block_status in a loop, neighbouring runs of one state merged.
#include "vmdk/extent.hpp"

#include "vmdk/error.hpp"

namespace vmdk {

void Extent::map(std::uint64_t offset, std::uint64_t length, std::vector<Run>& out) const {
  const std::uint64_t end = offset + length;
  while (offset < end) {
    Run run = block_status(offset, end - offset);
    if (run.length == 0 || run.length > end - offset) {
      throw FormatError(host_file(), "block status at " + hex(offset) + " returned an impossible run", offset);
    }
    if (!out.empty()) {
      Run& last = out.back();
      bool host_contiguous = last.host_offset == kNoHostOffset
                                 ? run.host_offset == kNoHostOffset
                                 : run.host_offset == last.host_offset + last.length;
      if (last.state == run.state && last.offset + last.length == run.offset && !last.compressed &&
          !run.compressed && host_contiguous) {
        last.length += run.length;
        offset += run.length;
        continue;
      }
    }
    out.push_back(run);
    offset += run.length;
  }
}

}  // namespace vmdk
