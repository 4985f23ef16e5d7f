// The kind table: the built-in kinds (kinds/builtin.cpp) plus those tests register, asked in order.
// Consulted only when an extent is opened or created, never per grain.
#include "extent/kind_table.hpp"

#include <algorithm>
#include <mutex>
#include <string>

#include "vmdk/error.hpp"

namespace vmdk::extent {

namespace {

struct KindRegistry {
  std::mutex mutex;
  std::vector<std::shared_ptr<const ExtentKind>> kinds = builtin_kinds();
};

KindRegistry& kind_registry() {
  static KindRegistry registry;
  return registry;
}

// A copy, so that lookups run without the lock (probes read files).
std::vector<std::shared_ptr<const ExtentKind>> registered_kinds() {
  KindRegistry& registry = kind_registry();
  std::lock_guard lock(registry.mutex);
  return registry.kinds;
}

}  // namespace

void register_kind(std::shared_ptr<const ExtentKind> kind) {
  if (!kind) throw UsageError("", "register_kind needs a kind");
  KindRegistry& registry = kind_registry();
  std::lock_guard lock(registry.mutex);
  registry.kinds.push_back(std::move(kind));
}

void unregister_kind(const ExtentKind* kind) {
  KindRegistry& registry = kind_registry();
  std::lock_guard lock(registry.mutex);
  std::erase_if(registry.kinds, [kind](const auto& k) { return k.get() == kind; });
}

const ExtentKind& kind_for_line(ExtentType type, const ByteSource* file) {
  // The registry keeps the built-in kinds for the program's life; a kind a test registers lives
  // as long as the test holds it, so the references handed out stay valid while they are used.
  const ExtentKind* fallback = nullptr;
  for (const auto& kind : registered_kinds()) {
    if (!kind->serves(type)) continue;
    if (file && kind->probe(*file)) return *kind;
    if (!fallback) fallback = kind.get();
  }
  if (!fallback) {
    throw UnsupportedError(file ? file->name() : std::string(),
                           "no extent kind reads " + std::string(to_string(type)) + " extents");
  }
  return *fallback;
}

const ExtentKind* kind_for_create_type(DiskType type) {
  for (const auto& kind : registered_kinds()) {
    if (kind->writes(type)) return kind.get();
  }
  return nullptr;
}

const ExtentKind* self_describing_kind(const ByteSource& file) {
  for (const auto& kind : registered_kinds()) {
    if (kind->capabilities().holds_descriptor && kind->probe(file)) return kind.get();
  }
  return nullptr;
}

const ExtentKind* kind_by_magic(const ByteSource& file) {
  for (const auto& kind : registered_kinds()) {
    if (kind->probe(file)) return kind.get();
  }
  return nullptr;
}

std::unique_ptr<GrainUpdater> open_updater_for(ExtentType type, std::shared_ptr<File> file,
                                               std::uint64_t size_bytes) {
  const ExtentKind& kind = kind_for_line(type, file.get());
  return kind.open_updater(std::move(file), size_bytes);
}

}  // namespace vmdk::extent
