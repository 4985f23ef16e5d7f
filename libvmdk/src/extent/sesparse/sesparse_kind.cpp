// SESparse extents in the kind table: 8-byte magic, grain updates in place, a new delta starts empty.
#include "extent/sesparse/sesparse_kind.hpp"

#include <array>
#include <string>

#include "extent/capacity_field.hpp"
#include "extent/sesparse/sesparse_extent.hpp"
#include "extent/sesparse/sesparse_repair.hpp"
#include "extent/sesparse/sesparse_scan.hpp"
#include "extent/sesparse/sesparse_updater.hpp"
#include "extent/sesparse/sesparse_writer.hpp"
#include "format/sesparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sesparse {

namespace {

// The header of a file whose descriptor is lost: only the magic and the capacity must be sound.
std::uint64_t sesparse_rebuild_capacity(const ByteSource& file, std::vector<std::string>& warnings) {
  std::array<std::uint8_t, format::kSesparseHeaderSize> raw{};
  read_exact(file, 0, raw, "SESparse header");
  const format::SesparseHeader header = format::decode_sesparse_header(raw);
  if (header.magic != format::kSesparseMagic) {
    throw FormatError(file.name(),
                      "SESparse header at 0x0 has no SESparse magic (found " + hex(header.magic) + ")", 0);
  }
  if (header.version != format::kSesparseVersion) {
    warnings.push_back(file.name() + ": SESparse header version " + hex(header.version) + " at " +
                       hex(format::sesparse_header_field("version").offset) +
                       " is not 2.1 (QEMU refuses it)");
  }
  return extent::capacity_field_bytes(header.capacity, file.name(), "SESparse header capacity",
                                      format::sesparse_header_field("capacity").offset);
}

class SesparseKind final : public extent::ExtentKind {
 public:
  std::string_view name() const override { return "sesparse"; }
  bool serves(ExtentType type) const override { return type == ExtentType::sesparse; }
  bool probe(const ByteSource& file) const override { return has_sesparse_magic(file); }
  extent::KindCapabilities capabilities() const override {
    extent::KindCapabilities caps;
    caps.writable_in_place = true;
    caps.whole_file = true;
    caps.scanned_by_check = true;
    return caps;
  }
  std::unique_ptr<Extent> open_reader(const extent::ReaderRequest& request) const override {
    return open_sesparse_extent(request.file, request.size_bytes);
  }
  std::unique_ptr<extent::GrainUpdater> open_updater(std::shared_ptr<File> file,
                                                     std::uint64_t size_bytes) const override {
    return open_sesparse_updater(std::move(file), size_bytes);
  }
  bool writes(DiskType type) const override { return type == DiskType::se_sparse; }
  std::unique_ptr<ExtentWriter> create_writer(std::shared_ptr<ByteSink> sink,
                                              const extent::WriterParams& params) const override {
    return make_sesparse_writer(std::move(sink), params.capacity_bytes);
  }
  std::vector<extent::HeaderField> header_fields() const override {
    return extent::header_fields_of(format::kSesparseHeaderFields);
  }
  std::optional<std::uint64_t> rebuild_capacity(const ByteSource& file,
                                                std::vector<std::string>& warnings) const override {
    return sesparse_rebuild_capacity(file, warnings);
  }
  std::optional<std::vector<Finding>> scan(const std::filesystem::path& path,
                                           std::uint64_t size_bytes) const override {
    return scan_sesparse(File::open(path), size_bytes);
  }
  void plan_repair(const extent::RepairTarget& target, extent::RepairPlan& plan) const override {
    plan_sesparse_repair(target, plan);
  }
};

}  // namespace

std::shared_ptr<const extent::ExtentKind> sesparse_kind() {
  return std::make_shared<SesparseKind>();
}

}  // namespace vmdk::sesparse
