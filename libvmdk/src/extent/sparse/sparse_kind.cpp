// Hosted sparse extents in the kind table: KDMV magic without the compression flag. The kind is
// also the default of SPARSE lines, so a file with a bad magic is reported by the KDMV loader.
#include "extent/sparse/sparse_kind.hpp"

#include "extent/sparse/kdmv_layout.hpp"
#include "extent/sparse/open_sparse.hpp"
#include "extent/sparse/sparse_extent.hpp"
#include "extent/sparse/sparse_repair.hpp"
#include "extent/sparse/sparse_scan.hpp"
#include "extent/sparse/sparse_updater.hpp"
#include "extent/sparse/sparse_writer.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::sparse {

namespace {

class SparseKind final : public extent::ExtentKind {
 public:
  std::string_view name() const override { return "sparse"; }
  bool serves(ExtentType type) const override { return type == ExtentType::sparse; }
  bool probe(const ByteSource& file) const override {
    auto flags = kdmv_flags(file);
    return flags && (*flags & format::kFlagCompressed) == 0;
  }
  extent::KindCapabilities capabilities() const override {
    extent::KindCapabilities caps;
    caps.writable_in_place = true;
    caps.whole_file = true;
    caps.holds_descriptor = true;
    caps.scanned_by_check = true;
    return caps;
  }
  std::unique_ptr<Extent> open_reader(const extent::ReaderRequest& request) const override {
    if (!request.file) throw UsageError("", "open_sparse_extent needs a file");
    KdmvLayout layout = load_kdmv_layout(*request.file);
    // The probe saw no compression flag; a file changed since is not read as the wrong kind.
    if (layout.compressed)
      throw FormatError(layout.name, "sparse header changed while the extent was opened");
    return std::make_unique<SparseExtent>(request.file, std::move(layout), request.size_bytes);
  }
  std::unique_ptr<extent::GrainUpdater> open_updater(std::shared_ptr<File> file,
                                                     std::uint64_t) const override {
    return SparseUpdater::open(std::move(file));
  }
  bool writes(DiskType type) const override {
    return type == DiskType::monolithic_sparse || type == DiskType::two_gb_sparse;
  }
  std::unique_ptr<ExtentWriter> create_writer(std::shared_ptr<ByteSink> sink,
                                              const extent::WriterParams& params) const override {
    SparseWriterParams p;
    p.capacity_bytes = params.capacity_bytes;
    p.grain_bytes = params.grain_bytes;
    p.zeroed_grains = params.zeroed_grains;
    p.descriptor = params.descriptor;
    p.descriptor_sectors = params.descriptor_sectors;
    return make_sparse_writer(std::move(sink), p);
  }
  std::vector<extent::HeaderField> header_fields() const override {
    return extent::header_fields_of(format::kSparseHeaderFields);
  }
  std::optional<extent::EmbeddedDescriptor> embedded_descriptor(const ByteSource& file) const override {
    return embedded_descriptor_area(file);
  }
  std::optional<std::uint64_t> rebuild_capacity(const ByteSource& file,
                                                std::vector<std::string>& warnings) const override {
    return rebuild_kdmv_capacity(file, warnings);
  }
  std::optional<std::uint64_t> header_capacity(const ByteSource& file) const override {
    return header_capacity_bytes(file);
  }
  std::optional<std::vector<Finding>> scan(const std::filesystem::path& path,
                                           std::uint64_t size_bytes) const override {
    return scan_sparse(*File::open(path), size_bytes, ScanUse::findings).findings;
  }
  void plan_repair(const extent::RepairTarget& target, extent::RepairPlan& plan) const override {
    plan_sparse_file_repair(target, plan);
  }
};

}  // namespace

std::shared_ptr<const extent::ExtentKind> sparse_kind() {
  return std::make_shared<SparseKind>();
}

}  // namespace vmdk::sparse
