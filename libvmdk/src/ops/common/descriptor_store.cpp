// Descriptors stored back in place (see descriptor_store.hpp).
#include "ops/common/descriptor_store.hpp"

#include <algorithm>
#include <vector>

#include "extent/kind_table.hpp"
#include "ops/common/temp_file.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace {

// A standalone descriptor is a few KiB; the reader refuses anything this large.
constexpr std::uint64_t kMaxStandaloneBytes = 1u << 20;

std::span<const std::uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace

DescriptorHome load_descriptor_home(const Disk& disk) {
  DescriptorHome home;
  home.file = disk.path();
  auto file = File::open(disk.path());
  if (const extent::ExtentKind* kind = extent::self_describing_kind(*file)) {
    std::optional<extent::EmbeddedDescriptor> area = kind->embedded_descriptor(*file);
    if (!area || !area->text) {
      home.synthesized = true;
      return home;
    }
    home.embedded = true;
    home.offset = area->offset;
    home.capacity = area->capacity;
    home.text = *area->text;
    home.descriptor = Descriptor::parse(home.text, home.file.string());
    return home;
  }
  const std::uint64_t size = file->size();
  if (size > kMaxStandaloneBytes) {
    throw FormatError(disk.path().string(),
                      "descriptor file is " + hex(size) + " bytes, more than " + hex(kMaxStandaloneBytes));
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  read_exact(*file, 0, bytes, "descriptor");
  home.text.assign(bytes.begin(), bytes.end());
  home.descriptor = Descriptor::parse(home.text, home.file.string());
  return home;
}

Descriptor with_new_cid(const DescriptorHome& home, std::uint32_t cid) {
  Descriptor out = home.descriptor;
  out.set_cid(cid);
  return out;
}

Descriptor relinked(const DescriptorHome& home, const std::string& hint, std::uint32_t parent_cid) {
  Descriptor out = home.descriptor;
  out.set_parent_file_name_hint(hint);
  out.set_parent_cid(parent_cid);
  return out;
}

void check_fits(const DescriptorHome& home, const std::string& printed) {
  if (home.embedded && printed.size() >= home.capacity) {
    // Keep one NUL: readers stop the text there.
    throw UsageError(home.file.string(), "the embedded descriptor would grow to " +
                                             std::to_string(printed.size()) + " bytes, past its reserved " +
                                             std::to_string(home.capacity) + " bytes at " + hex(home.offset));
  }
}

void check_fits(const DescriptorHome& home, const Descriptor& descriptor) {
  check_fits(home, descriptor.print_preserving());
}

void store_descriptor(const DescriptorHome& home, const Descriptor& descriptor) {
  store_descriptor(home, descriptor.print_preserving());
}

void store_descriptor(const DescriptorHome& home, const std::string& printed) {
  if (home.synthesized) throw UsageError(home.file.string(), "has no descriptor to change");
  check_fits(home, printed);
  if (home.embedded) {
    std::vector<std::uint8_t> area(static_cast<std::size_t>(home.capacity), 0);
    std::copy(printed.begin(), printed.end(), area.begin());
    auto file = File::open(home.file, File::Mode::read_write);
    file->write_at(home.offset, area);
    file->flush();
    return;
  }
  TempFile temp(home.file);
  {
    auto file = File::open(temp.temp(), File::Mode::create_truncate);
    file->write_at(0, bytes_of(printed));
    file->flush();
  }
  temp.rename_into_place();
  sync_folder(home.file.parent_path());
}

}  // namespace vmdk::ops
