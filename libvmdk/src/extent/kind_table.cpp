// The kind table: the built-in kinds (kinds/builtin.cpp) plus those tests register, asked in order.
// Consulted only when an extent is opened or created, never per grain.
#include "extent/kind_table.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <optional>
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

// The first bytes of a file, read once for all the probes of one lookup: each kind's probe reads
// the magic and flags it needs, and asking six kinds would otherwise cost six reads of the same
// sector per extent opened (a deep chain opens dozens). Reads past the head go to the file.
class ProbedHead final : public ByteSource {
 public:
  explicit ProbedHead(const ByteSource& file) : file_(file) {}
  std::size_t read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override {
    if (!length_) length_ = file_.read_at(0, head_);
    if (offset >= kHeadBytes || out.size() > kHeadBytes - offset) return file_.read_at(offset, out);
    if (offset >= *length_) return 0;
    const std::size_t n = std::min<std::size_t>(out.size(), *length_ - offset);
    std::memcpy(out.data(), head_.data() + offset, n);
    return n;
  }
  std::uint64_t size() const override { return file_.size(); }
  const std::string& name() const override { return file_.name(); }

 private:
  static constexpr std::size_t kHeadBytes = 4096;
  const ByteSource& file_;
  mutable std::array<std::uint8_t, kHeadBytes> head_{};
  mutable std::optional<std::size_t> length_;
};

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
  std::optional<ProbedHead> head;
  if (file) head.emplace(*file);
  for (const auto& kind : registered_kinds()) {
    if (!kind->serves(type)) continue;
    if (head && kind->probe(*head)) return *kind;
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
  const ProbedHead head(file);
  for (const auto& kind : registered_kinds()) {
    if (kind->capabilities().holds_descriptor && kind->probe(head)) return kind.get();
  }
  return nullptr;
}

const ExtentKind* kind_by_magic(const ByteSource& file) {
  const ProbedHead head(file);
  for (const auto& kind : registered_kinds()) {
    if (kind->probe(head)) return kind.get();
  }
  return nullptr;
}

std::unique_ptr<GrainUpdater> open_updater_for(ExtentType type, std::shared_ptr<File> file,
                                               std::uint64_t size_bytes) {
  const ExtentKind& kind = kind_for_line(type, file.get());
  return kind.open_updater(std::move(file), size_bytes);
}

}  // namespace vmdk::extent
