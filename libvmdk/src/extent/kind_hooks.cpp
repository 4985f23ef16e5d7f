// The check and repair questions of ops/ (kind_hooks.hpp), answered by the kind the table finds
// for a descriptor line's type and file; no kind is named here.
#include "extent/kind_hooks.hpp"

#include "extent/kind_table.hpp"
#include "vmdk/error.hpp"

namespace vmdk::extent {

namespace {

// The kind serving type, judged by the type alone; nullptr when no kind serves it (raw devices).
const ExtentKind* hook_kind_of_type(ExtentType type) {
  try {
    return &kind_for_line(type, nullptr);
  } catch (const UnsupportedError&) {
    return nullptr;
  }
}

}  // namespace

bool has_file_scan(ExtentType type) {
  const ExtentKind* kind = hook_kind_of_type(type);
  return kind != nullptr && kind->capabilities().scanned_by_check;
}

std::vector<Finding> scan_extent_file(ExtentType type, const std::filesystem::path& path, std::uint64_t length) {
  const std::shared_ptr<File> file = File::open(path);
  return kind_for_line(type, file.get()).scan(path, length).value_or(std::vector<Finding>{});
}

void plan_extent_repair(ExtentType type, const RepairTarget& target, RepairPlan& plan) {
  // Kinds without a scan of their own have no repair either: their files are not even opened.
  if (!has_file_scan(type)) return;
  const std::shared_ptr<File> file = File::open(target.path);
  kind_for_line(type, file.get()).plan_repair(target, plan);
}

DescriptorArea embedded_descriptor_area(const ByteSource& file) {
  const ExtentKind* kind = self_describing_kind(file);
  const std::optional<EmbeddedDescriptor> area = kind ? kind->embedded_descriptor(file) : std::nullopt;
  if (!area) throw FormatError(file.name(), "holds no embedded descriptor");
  return {area->offset, area->capacity};
}

}  // namespace vmdk::extent
