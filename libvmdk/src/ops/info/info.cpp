// ops::info: what one disk's descriptor and extents say, parents not followed (vmdkit info).
// Extent status comes from the Disk's slots: opened, missing, unsupported or shorter than its line.
#include <system_error>

#include "chain/chain_lock.hpp"
#include "vmdk/error.hpp"
#include "vmdk/ops.hpp"

namespace vmdk {

namespace {

// A FLAT/VMFS file must hold offset + length bytes; a shorter one reads past its end.
void check_flat_length(const ExtentSlot& slot, InfoExtent& out) {
  if (slot.line.type != ExtentType::flat && slot.line.type != ExtentType::vmfs) return;
  std::error_code ec;
  auto size = std::filesystem::file_size(slot.path, ec);
  if (ec) return;  // a device node or something stat cannot size: nothing to say
  std::uint64_t need = out.offset.value_or(0) + slot.length;
  if (size < need) {
    out.status = "short";
    out.problem = "file holds " + hex(size) + " bytes, the extent line needs " + hex(need);
  }
}

InfoExtent describe(const ExtentSlot& slot) {
  InfoExtent out;
  out.access = std::string(to_string(slot.line.access));
  out.type = std::string(to_string(slot.line.type));
  out.size = slot.length;
  out.start = slot.start;
  out.file = slot.line.file;
  out.path = slot.path.string();
  if (slot.line.offset) out.offset = *slot.line.offset * 512;
  if (slot.extent) {
    out.status = "ok";
    out.details = slot.extent->details();
    check_flat_length(slot, out);
    return out;
  }
  out.problem = slot.problem.text();
  std::error_code ec;
  const ExtentProblemKind kind = slot.problem.kind;
  if (kind == ExtentProblemKind::unsupported) {
    out.status = "unsupported";
  } else if (kind == ExtentProblemKind::short_file) {
    out.status = "short";
  } else if (kind == ExtentProblemKind::missing || (!slot.path.empty() && !std::filesystem::exists(slot.path, ec))) {
    out.status = "missing";
  } else {
    out.status = "error";
  }
  if (out.problem.empty()) out.problem = out.status;
  return out;
}

}  // namespace

InfoReport info(const std::filesystem::path& path, const InfoOptions& options) {
  OpenOptions open = options.open;
  open.allow_missing_extents = true;
  // docs/cli.md: a damaged extent is listed as "error" with its problem, the rest still shown.
  open.allow_damaged_extents = true;
  io::LockSet locks = chain::lock_disk(path, open);  // shared: nothing changes it while read
  auto disk = Disk::open(path, open);
  const Descriptor& d = disk->descriptor();

  InfoReport report;
  report.path = path.string();
  report.create_type = d.create_type();
  report.capacity = disk->capacity();
  report.cid = d.cid();
  report.parent_cid = d.parent_cid();
  report.parent_hint = d.parent_file_name_hint();
  report.descriptor_version = d.version();
  report.embedded_descriptor = disk->embedded_descriptor();
  report.complete = disk->complete();
  report.allocated = disk->allocated_bytes();
  for (const auto& slot : disk->extents()) report.extents.push_back(describe(slot));
  report.header = d.header_entries();
  report.ddb = d.ddb_entries();
  report.warnings = disk->warnings();  // what opening assumed (a bare sparse extent read alone)
  for (std::string& w : chain::lock_folder_warnings(locks.paths())) report.warnings.push_back(std::move(w));
  return report;
}

}  // namespace vmdk
