// COWD extents in the kind table: "COWD" magic, grain updates in place, a new delta starts empty.
#include "extent/cowd/cowd_kind.hpp"

#include <array>
#include <string>

#include "extent/capacity_field.hpp"
#include "extent/cowd/cowd_extent.hpp"
#include "extent/cowd/cowd_repair.hpp"
#include "extent/cowd/cowd_scan.hpp"
#include "extent/cowd/cowd_updater.hpp"
#include "extent/cowd/cowd_writer.hpp"
#include "format/cowd_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::cowd {

namespace {

// The header of a file whose descriptor is lost: only the magic and the capacity must be sound.
std::uint64_t cowd_rebuild_capacity(const ByteSource& file, std::vector<std::string>& warnings) {
  std::array<std::uint8_t, format::kCowdHeaderSize> raw{};
  read_exact(file, 0, raw, "vmfsSparse (COWD) header");
  const format::CowdHeader header = format::decode_cowd_header(raw);
  if (header.magic != format::kCowdMagic) {
    throw FormatError(file.name(),
                      "vmfsSparse (COWD) header at 0x0 has no COWD magic (found " + hex(header.magic) + ")",
                      0);
  }
  if (header.version != 1) {
    warnings.push_back(file.name() + ": COWD header version " + std::to_string(header.version) + " at " +
                       hex(format::cowd_header_field("version").offset) + " (ESXi writes 1)");
  }
  return extent::capacity_field_bytes(header.num_sectors, file.name(), "COWD header num_sectors",
                                      format::cowd_header_field("num_sectors").offset);
}

class CowdKind final : public extent::ExtentKind {
 public:
  std::string_view name() const override { return "cowd"; }
  bool serves(ExtentType type) const override { return type == ExtentType::vmfssparse; }
  bool probe(const ByteSource& file) const override { return has_cowd_magic(file); }
  extent::KindCapabilities capabilities() const override {
    extent::KindCapabilities caps;
    caps.writable_in_place = true;
    caps.whole_file = true;
    caps.scanned_by_check = true;
    return caps;
  }
  std::unique_ptr<Extent> open_reader(const extent::ReaderRequest& request) const override {
    return open_cowd_extent(request.file, request.size_bytes);
  }
  std::unique_ptr<extent::GrainUpdater> open_updater(std::shared_ptr<File> file,
                                                     std::uint64_t size_bytes) const override {
    return open_cowd_updater(std::move(file), size_bytes);
  }
  bool writes(DiskType type) const override { return type == DiskType::vmfs_sparse; }
  std::unique_ptr<ExtentWriter> create_writer(std::shared_ptr<ByteSink> sink,
                                              const extent::WriterParams& params) const override {
    return make_cowd_writer(std::move(sink), params.capacity_bytes);
  }
  std::vector<extent::HeaderField> header_fields() const override {
    return extent::header_fields_of(format::kCowdHeaderFields);
  }
  std::optional<std::uint64_t> rebuild_capacity(const ByteSource& file,
                                                std::vector<std::string>& warnings) const override {
    return cowd_rebuild_capacity(file, warnings);
  }
  std::optional<std::vector<Finding>> scan(const std::filesystem::path& path,
                                           std::uint64_t size_bytes) const override {
    return scan_cowd(File::open(path), size_bytes);
  }
  void plan_repair(const extent::RepairTarget& target, extent::RepairPlan& plan) const override {
    plan_cowd_repair(target, plan);
  }
};

}  // namespace

std::shared_ptr<const extent::ExtentKind> cowd_kind() {
  return std::make_shared<CowdKind>();
}

}  // namespace vmdk::cowd
