// streamOptimized extents in the kind table: KDMV magic with the compression flag (vmdk-format.md
// 3). Written front to back, possibly to a pipe; never updated in place.
#include "extent/stream/stream_kind.hpp"

#include "extent/sparse/kdmv_layout.hpp"
#include "extent/sparse/open_sparse.hpp"
#include "extent/sparse/sparse_repair.hpp"
#include "extent/sparse/sparse_scan.hpp"
#include "extent/stream/stream_extent.hpp"
#include "extent/stream/stream_writer.hpp"
#include "format/sparse_header.hpp"
#include "vmdk/error.hpp"

namespace vmdk::stream {

namespace {

class StreamKind final : public extent::ExtentKind {
 public:
  std::string_view name() const override { return "stream"; }
  bool serves(ExtentType type) const override { return type == ExtentType::sparse; }
  bool probe(const ByteSource& file) const override {
    auto flags = sparse::kdmv_flags(file);
    return flags && (*flags & format::kFlagCompressed) != 0;
  }
  extent::KindCapabilities capabilities() const override {
    extent::KindCapabilities caps;
    caps.whole_file = true;
    caps.sequential_only = true;
    caps.holds_descriptor = true;
    caps.scanned_by_check = true;
    return caps;
  }
  std::unique_ptr<Extent> open_reader(const extent::ReaderRequest& request) const override {
    if (!request.file) throw UsageError("", "open_sparse_extent needs a file");
    sparse::KdmvLayout layout = sparse::load_kdmv_layout(*request.file);
    if (!layout.compressed)
      throw FormatError(layout.name, "sparse header changed while the extent was opened");
    return std::make_unique<StreamExtent>(request.file, std::move(layout), request.size_bytes);
  }
  bool writes(DiskType type) const override { return type == DiskType::stream_optimized; }
  std::unique_ptr<ExtentWriter> create_writer(std::shared_ptr<ByteSink> sink,
                                              const extent::WriterParams& params) const override {
    return make_stream_writer(std::move(sink), {params.capacity_bytes, params.grain_bytes, params.descriptor,
                                                params.compress_level, params.threads});
  }
  std::vector<extent::HeaderField> header_fields() const override {
    return extent::header_fields_of(format::kSparseHeaderFields);
  }
  std::optional<extent::EmbeddedDescriptor> embedded_descriptor(const ByteSource& file) const override {
    return sparse::embedded_descriptor_area(file);
  }
  std::optional<std::uint64_t> rebuild_capacity(const ByteSource& file,
                                                std::vector<std::string>& warnings) const override {
    return sparse::rebuild_kdmv_capacity(file, warnings);
  }
  std::optional<std::uint64_t> header_capacity(const ByteSource& file) const override {
    return sparse::header_capacity_bytes(file);
  }
  std::optional<std::vector<Finding>> scan(const std::filesystem::path& path,
                                           std::uint64_t size_bytes) const override {
    // A stream is a sparse file: the sparse scan reads its markers and footer too.
    return sparse::scan_sparse(*File::open(path), size_bytes, sparse::ScanUse::findings).findings;
  }
  void plan_repair(const extent::RepairTarget& target, extent::RepairPlan& plan) const override {
    sparse::plan_sparse_file_repair(target, plan);  // a salvage when its footer is gone
  }
};

}  // namespace

std::shared_ptr<const extent::ExtentKind> stream_kind() {
  return std::make_shared<StreamKind>();
}

}  // namespace vmdk::stream
