// The machinery shared by the table-driven header codecs (sparse, COWD, SESparse): look a field up
// in its table, and read or write the struct member of that name through the codec's member walker.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::format {

/// The field of table named `name`; UsageError "no <what> field named <name>" otherwise.
template <std::size_t N>
const FieldInfo& find_field(const std::array<FieldInfo, N>& table, std::string_view name,
                            std::string_view what) {
  for (const FieldInfo& field : table) {
    if (field.name == name) return field;
  }
  throw UsageError("", "no " + std::string(what) + " field named " + std::string(name));
}

/// The member named `name` among those walk(h, f) calls f(name, member) with, widened to u64;
/// UsageError "no <what> field named <name>" when none is.
template <typename H, typename Walk>
std::uint64_t get_member(const H& h, std::string_view name, Walk&& walk, std::string_view what) {
  std::uint64_t result = 0;
  bool found = false;
  walk(h, [&](std::string_view n, const auto& member) {
    if (n == name) {
      result = static_cast<std::uint64_t>(member);
      found = true;
    }
  });
  if (!found) throw UsageError("", "no " + std::string(what) + " field named " + std::string(name));
  return result;
}

/// Sets the member named `name` (value truncated to its width); UsageError as get_member.
template <typename H, typename Walk>
void set_member(H& h, std::string_view name, std::uint64_t value, Walk&& walk, std::string_view what) {
  bool found = false;
  walk(h, [&](std::string_view n, auto& member) {
    if (n == name) {
      member = static_cast<std::remove_reference_t<decltype(member)>>(value);
      found = true;
    }
  });
  if (!found) throw UsageError("", "no " + std::string(what) + " field named " + std::string(name));
}

}  // namespace vmdk::format
