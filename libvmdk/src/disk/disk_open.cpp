// Disk::open: what a file is by its first bytes (vmdk-format.md 0.4) and how one link is opened
// from it (6.1): text descriptor, KDMV with an embedded descriptor, or a bare KDMV extent; a bare
// COWD or SESparse extent is refused with the name of its likely descriptor; a split part or flat
// extent that a descriptor of its folder names is refused with that descriptor's name; other image
// formats (qcow2, VHD, VHDX, VDI, QED) are named.
#include <array>
#include <cstring>
#include <string>

#include "disk/extent_owner.hpp"
#include "disk/open_extents.hpp"
#include "extent/foreign_magic.hpp"
#include "extent/kind_table.hpp"
#include "vmdk/disk.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace {

// A descriptor never needs more than a few KiB; anything larger is not one (and must not be slurped).
constexpr std::uint64_t kMaxDescriptorBytes = 1024 * 1024;
constexpr std::size_t kHeadBytes = 4096;

// A bare KDMV extent (no embedded descriptor, e.g. a part of a split sparse disk opened directly)
// gets this descriptor. CID fffffffe is the value of VMware's own example descriptors: a fixed,
// documented value keeps output deterministic and never equals the "no parent" marker ffffffff.
std::string synthesized_descriptor(std::uint64_t capacity_bytes, const std::string& file_name) {
  return "# Disk DescriptorFile\n"
         "version=1\n"
         "CID=fffffffe\n"
         "parentCID=ffffffff\n"
         "createType=\"monolithicSparse\"\n"
         "\n"
         "# Extent description\n"
         "RW " +
         std::to_string(capacity_bytes / 512) + " SPARSE \"" + file_name + "\"\n";
}

// A bare COWD or SESparse extent does not name its parent, so it is only read through its
// descriptor: usually the extent's name without the -delta / -sesparse suffix (vmdk-format.md 6.1).
[[noreturn]] void refuse_bare_esxi_extent(const std::filesystem::path& path, std::string_view kind,
                                          std::string_view suffix) {
  const std::string stem = path.stem().string();
  std::string hint;
  if (stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0) {
    hint = " (" + stem.substr(0, stem.size() - suffix.size()) + path.extension().string() + ")";
  }
  throw UnsupportedError(path.string(), "this is a bare ESXi " + std::string(kind) +
                                            " extent, which does not name its parent: open its descriptor" +
                                            hint + " instead");
}

// --strict: a delta depends on another file, which untrusted input must not make us open.
void refuse_parent_when_strict(const Descriptor& descriptor, const std::string& name, const OpenOptions& options) {
  if (options.strict && descriptor.parent_cid() != kNoParentCid) {
    throw UsageError(name, "is a delta with a parent disk (parentCID " + format_cid(descriptor.parent_cid()) +
                               "), refused by --strict (only self-contained single-file disks)");
  }
}

// A file some descriptor of its folder names as an extent (a split part, a flat extent) is only a
// piece of that disk: reading it alone would show a wrong disk, so the user is sent to the whole.
void refuse_named_extent(const std::filesystem::path& path) {
  if (std::optional<disk::ExtentOwner> owner = disk::find_extent_owner(path)) {
    throw UsageError(path.string(), "is extent " + std::to_string(owner->extent_number) + " of " +
                                        owner->descriptor.string() + "; open that");
  }
}

class OpenedDisk final : public Disk {
 public:
  OpenedDisk(std::filesystem::path path, Descriptor descriptor, bool embedded, std::vector<ExtentSlot> slots,
             std::vector<std::string> warnings = {}) {
    path_ = std::move(path);
    descriptor_ = std::move(descriptor);
    embedded_ = embedded;
    slots_ = std::move(slots);
    capacity_ = slots_.empty() ? 0 : slots_.back().start + slots_.back().length;
    warnings_ = std::move(warnings);
  }
};

}  // namespace

std::unique_ptr<Disk> Disk::open(const std::filesystem::path& path, const OpenOptions& options) {
  const std::string name = path.string();
  std::shared_ptr<File> file = File::open(path);
  if (const extent::ExtentKind* kind = extent::self_describing_kind(*file)) {
    std::optional<extent::EmbeddedDescriptor> area = kind->embedded_descriptor(*file);
    std::optional<std::string> text = area ? area->text : std::nullopt;
    const bool embedded = text.has_value();
    std::vector<std::string> warnings;
    if (!embedded) {
      refuse_named_extent(path);
      const std::uint64_t capacity = kind->header_capacity(*file).value_or(0);
      text = synthesized_descriptor(capacity, path.filename().string());
      // A recovery case (its descriptor is lost): readable, but the user must know what was assumed.
      warnings.push_back(name + ": bare sparse extent (no embedded descriptor, and no descriptor in its folder "
                                "names it): read alone as a monolithicSparse disk of " + hex(capacity) +
                         " bytes; if it is a part of a split disk, rebuild that disk's descriptor "
                                "(vmdkit repair --rebuild-descriptor PARTS...)");
    }
    Descriptor descriptor = Descriptor::parse(*text, name);
    refuse_parent_when_strict(descriptor, name, options);
    auto slots = disk::open_extent_slots(descriptor, path, file, options);
    return std::make_unique<OpenedDisk>(path, std::move(descriptor), embedded, std::move(slots), std::move(warnings));
  }
  // Read only here: a self-describing extent's probe above already read its head.
  std::array<std::uint8_t, 8> magic{};
  const std::size_t got = file->read_at(0, magic);
  if (got >= 4 && std::memcmp(magic.data(), "kdmv", 4) == 0) {
    throw FormatError(name, "sparse header magic is \"kdmv\": an incomplete open-vmdk output whose final header "
                            "was never written");
  }
  if (got >= 4 && std::memcmp(magic.data(), "COWD", 4) == 0) {
    refuse_bare_esxi_extent(path, "vmfsSparse (COWD)", "-delta");
  }
  static constexpr std::uint8_t kSesparseMagic[8] = {0xbe, 0xba, 0xfe, 0xca, 0, 0, 0, 0};
  if (got == 8 && std::memcmp(magic.data(), kSesparseMagic, 8) == 0) {
    refuse_bare_esxi_extent(path, "SESparse", "-sesparse");
  }

  std::string head(kHeadBytes, '\0');
  const std::size_t head_len =
      file->read_at(0, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(head.data()), head.size()));
  head.resize(head_len);
  if (!looks_like_descriptor(head)) {
    if (std::optional<std::string> format = extent::foreign_image_format(*file)) {
      throw FormatError(name, "is a " + *format + " image, not a VMDK (qemu-img convert -O vmdk makes one)");
    }
    refuse_named_extent(path);
    throw FormatError(name, "not a VMDK: no descriptor text and no sparse magic");
  }
  const std::uint64_t size = file->size();
  if (size > kMaxDescriptorBytes) {
    throw FormatError(name, "starts like a descriptor but is " + hex(size) + " bytes long (more than " +
                                hex(kMaxDescriptorBytes) + "), which no descriptor is");
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  const std::size_t text_len =
      file->read_at(0, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(text.data()), text.size()));
  text.resize(text_len);
  Descriptor descriptor = Descriptor::parse(text, name);
  refuse_parent_when_strict(descriptor, name, options);
  auto slots = disk::open_extent_slots(descriptor, path, nullptr, options);
  return std::make_unique<OpenedDisk>(path, std::move(descriptor), false, std::move(slots));
}

}  // namespace vmdk
