// ExtentProblem (vmdk/disk.hpp): why an extent slot could not be opened, as the one line that
// info, error messages and the printers show.
#include "vmdk/disk.hpp"

namespace vmdk {

std::string_view to_string(ExtentProblemKind kind) {
  switch (kind) {
    case ExtentProblemKind::none: return "";
    case ExtentProblemKind::missing: return "missing";
    case ExtentProblemKind::refused: return "refused";
    case ExtentProblemKind::unsupported: return "unsupported";
    case ExtentProblemKind::short_file: return "short";
    case ExtentProblemKind::damaged: return "damaged";
  }
  return "";
}

std::string ExtentProblem::text() const {
  std::string out(to_string(kind));
  if (!message.empty()) out += ": " + message;
  return out;
}

}  // namespace vmdk
