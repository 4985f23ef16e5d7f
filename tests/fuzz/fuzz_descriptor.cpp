// libFuzzer target: the text descriptor parser, printer and editors (vmdk-format.md section 1).
// Besides "only vmdk::Error escapes" it checks the documented round trips parse(print(d)) == d and
// parse(print_preserving(d)) == d before and after each kind of checked edit, and that an unedited
// descriptor stores back the very text it was read from.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"

using vmdk_fuzz::broken;
using vmdk_fuzz::require;

namespace {

// At most this many edits of each kind per input: enough to reach every edit path, few enough
// that a descriptor of a thousand lines stays fast.
constexpr std::size_t kMaxEdits = 4;

// print() must give text that parses back to the same descriptor, and printing is canonical.
void check_round_trip(const vmdk::Descriptor& descriptor, const char* after) {
  const std::string text = descriptor.print();
  vmdk::Descriptor again;
  try {
    again = vmdk::Descriptor::parse(text, "printed.vmdk");
  } catch (const vmdk::Error& error) {
    broken(std::string("printed descriptor does not parse after ") + after + ": " + error.what());
  }
  if (!(again == descriptor)) broken(std::string("parse(print(d)) != d after ") + after);
  if (again.print() != text) broken(std::string("print is not canonical after ") + after);
  // The text stored back in place (raw lines kept) must read back the same too.
  try {
    again = vmdk::Descriptor::parse(descriptor.print_preserving(), "stored.vmdk");
  } catch (const vmdk::Error& error) {
    broken(std::string("preserved text does not parse after ") + after + ": " + error.what());
  }
  if (!(again == descriptor)) broken(std::string("parse(print_preserving(d)) != d after ") + after);
}

// The accessors are documented as non-throwing on a parsed descriptor; their answers must agree
// with the line list.
void check_accessors(const vmdk::Descriptor& d) {
  const auto version = d.version();
  require(version >= 1 && version <= 3, "version() outside the range parse accepts");
  (void)d.cid();
  (void)d.parent_cid();
  (void)d.create_type();
  (void)d.parent_file_name_hint();
  (void)d.encoding();
  std::size_t extent_lines = 0;
  for (const vmdk::DescriptorLine& line : d.lines()) {
    if (line.kind == vmdk::DescriptorLine::Kind::extent) {
      require(line.extent_index == extent_lines, "extent lines out of order");
      ++extent_lines;
    }
  }
  require(extent_lines == d.extents().size(), "extent line count differs from extents()");
  for (const auto& [key, value] : d.header_entries())
    require(d.header(key).has_value(), "header key not found");
  for (const auto& [key, value] : d.ddb_entries()) require(d.ddb(key).has_value(), "ddb key not found");
}

bool is_version_key(std::string_view key) {
  return key.size() == 7 && std::equal(key.begin(), key.end(), "version", [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b;
         });
}

// Each edit runs on a copy; a refused edit (UsageError) is fine, an accepted one must round-trip.
template <typename Edit>
void try_edit(const vmdk::Descriptor& original, const char* what, Edit&& edit) {
  vmdk::Descriptor copy = original;
  try {
    edit(copy);
  } catch (const vmdk::UsageError&) {
    return;
  }
  check_round_trip(copy, what);
}

void exercise(const vmdk::Descriptor& d) {
  check_round_trip(d, "parse");
  check_accessors(d);

  // Values to write come from the input itself, so the fuzzer steers them.
  std::vector<std::string> values;
  for (const vmdk::DescriptorLine& line : d.lines()) {
    if (line.kind != vmdk::DescriptorLine::Kind::blank) values.push_back(line.value);
  }
  values.emplace_back("");
  const auto headers = d.header_entries();
  const auto ddbs = d.ddb_entries();
  for (std::size_t i = 0; i < std::min(kMaxEdits, headers.size()); ++i) {
    const std::string& value = values[(i + 1) % values.size()];
    try_edit(d, "set_header",
             [&](vmdk::Descriptor& c) { c.set_header(headers[i].first, value, i % 2 == 0); });
    // Removing the version key leaves text that is no descriptor at all; remove_header has no
    // printability promise, so only the other keys are removed.
    if (!is_version_key(headers[i].first)) {
      try_edit(d, "remove_header", [&](vmdk::Descriptor& c) { c.remove_header(headers[i].first); });
    }
  }
  // New keys too: a header key or ddb key that is not there yet goes to a computed position.
  for (std::size_t i = 0; i < std::min(kMaxEdits, values.size()); ++i) {
    try_edit(d, "set_header (new key)",
             [&](vmdk::Descriptor& c) { c.set_header("fuzzKey" + std::to_string(i), values[i], true); });
    try_edit(d, "set_ddb (new key)",
             [&](vmdk::Descriptor& c) { c.set_ddb("ddb.fuzz" + std::to_string(i), values[i]); });
  }
  for (std::size_t i = 0; i < std::min(kMaxEdits, ddbs.size()); ++i) {
    try_edit(d, "set_ddb", [&](vmdk::Descriptor& c) { c.set_ddb(ddbs[i].first, values[i % values.size()]); });
  }
  // Edits by line index (what fixture damage uses), and extent file names kept in their lines.
  for (std::size_t i = 0; i < std::min(kMaxEdits, d.lines().size()); ++i) {
    const std::string& value = values[i % values.size()];
    try_edit(d, "set_line_value", [&](vmdk::Descriptor& c) { c.set_line_value(i, value, i % 2 == 1); });
    if (!is_version_key(d.lines()[i].key)) {
      try_edit(d, "remove_line", [&](vmdk::Descriptor& c) { c.remove_line(i); });
    }
  }
  for (std::size_t i = 0; i < std::min(kMaxEdits, d.extents().size()); ++i) {
    try_edit(d, "set_extent_file",
             [&](vmdk::Descriptor& c) { c.set_extent_file(i, values[(i + 2) % values.size()]); });
  }

  // Extent lines: same count (kept in place), one more and one fewer (rewritten as a block).
  std::vector<vmdk::ExtentLine> extents = d.extents();
  std::reverse(extents.begin(), extents.end());
  try_edit(d, "set_extents (same count)", [&](vmdk::Descriptor& c) { c.set_extents(extents); });
  vmdk::ExtentLine zero;
  zero.type = vmdk::ExtentType::zero;
  zero.sectors = d.extents().empty() ? 1 : d.extents().front().sectors;
  extents.push_back(zero);
  try_edit(d, "set_extents (one more)", [&](vmdk::Descriptor& c) { c.set_extents(extents); });
  if (!d.extents().empty()) {
    extents.resize(d.extents().size() - 1);
    try_edit(d, "set_extents (one fewer)", [&](vmdk::Descriptor& c) { c.set_extents(extents); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)vmdk::looks_like_descriptor(text);
  vmdk::Descriptor descriptor;
  try {
    descriptor = vmdk::Descriptor::parse(text, "fuzz.vmdk");
  } catch (const vmdk::Error&) {
    return 0;  // refusing bad text is the parser's job
  }
  // Nothing edited yet: the text stored back is the text read, byte for byte.
  require(descriptor.print_preserving() == text,
          "print_preserving() of an unedited descriptor differs from its text");
  exercise(descriptor);
  return 0;
}
