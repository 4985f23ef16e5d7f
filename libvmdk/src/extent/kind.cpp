// Defaults of the extent kind interface: what a kind that does not override a hook can do (nothing).
#include "extent/kind.hpp"

#include <string>

#include "vmdk/error.hpp"

namespace vmdk::extent {

std::unique_ptr<GrainUpdater> ExtentKind::open_updater(std::shared_ptr<File> file, std::uint64_t) const {
  throw UsageError(file ? file->name() : std::string(),
                   "no in-place updater for " + std::string(name()) + " extents");
}

bool ExtentKind::writes(DiskType) const {
  return false;
}

std::unique_ptr<ExtentWriter> ExtentKind::create_writer(std::shared_ptr<ByteSink>,
                                                        const WriterParams&) const {
  throw UsageError("", "no writer for " + std::string(name()) + " extents");
}

std::vector<HeaderField> ExtentKind::header_fields() const {
  return {};
}

std::optional<EmbeddedDescriptor> ExtentKind::embedded_descriptor(const ByteSource&) const {
  return std::nullopt;
}

std::optional<std::uint64_t> ExtentKind::header_capacity(const ByteSource&) const {
  return std::nullopt;
}

std::optional<std::uint64_t> ExtentKind::rebuild_capacity(const ByteSource&,
                                                          std::vector<std::string>&) const {
  return std::nullopt;
}

std::optional<std::vector<Finding>> ExtentKind::scan(const std::filesystem::path&, std::uint64_t) const {
  return std::nullopt;
}

void ExtentKind::plan_repair(const RepairTarget&, RepairPlan&) const {}

}  // namespace vmdk::extent
