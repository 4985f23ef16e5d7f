// The registry of `check` finding codes (DESIGN.md rule 3): each code once, with its severity,
// whether `repair` fixes it and a one-line meaning. The scanners of extent/<kind>/, ops/check and
// ops/repair draw from it, docs/json-output.md lists every code, and tests hold them to it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vmdk/finding.hpp"

namespace vmdk {

struct FindingCode {
  std::string_view code;     ///< stable snake_case identifier (docs/json-output.md)
  Severity severity;         ///< how bad every finding of this code is
  bool repairable;           ///< `repair` can fix it (some fixes need an option, see the message)
  std::string_view meaning;  ///< one line, for docs and tests
};

/// Every registered finding code, each exactly once.
std::span<const FindingCode> finding_codes();

/// The registry entry of code, or nullptr when code is not registered.
const FindingCode* find_finding_code(std::string_view code);

/// Codes repair reports as actions[].code that name the fix rather than a finding
/// (e.g. "grain_table_rewritten"); every other action code is a registered finding code.
std::span<const std::string_view> repair_action_codes();

/// A finding of a registered code with the registry's severity and repairable flag. An
/// unregistered code is a programming error: it asserts in debug builds and otherwise counts as
/// an unrepairable corruption (check then never reports a clean disk by mistake).
Finding make_finding(std::string_view code, std::string file, std::optional<std::uint64_t> offset,
                     std::string message);

}  // namespace vmdk
