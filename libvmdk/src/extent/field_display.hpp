// Display hints of header fields for ExtentDetails: the rule every kind shares (flags and magics
// read best in hex), so that cli/output prints header fields without knowing any format.
#pragma once

#include <string_view>

#include "vmdk/extent.hpp"

namespace vmdk::extent {

/// Hex for fields whose name says flags or magic, decimal otherwise.
inline FieldDisplay default_field_display(std::string_view name) {
  const bool hexy =
      name.find("flags") != std::string_view::npos || name.find("magic") != std::string_view::npos;
  return hexy ? FieldDisplay::hex : FieldDisplay::decimal;
}

/// Sets details.header_display to the default hint of every header entry.
inline void set_default_field_display(ExtentDetails& details) {
  details.header_display.clear();
  for (const auto& entry : details.header)
    details.header_display.push_back(default_field_display(entry.first));
}

}  // namespace vmdk::extent
