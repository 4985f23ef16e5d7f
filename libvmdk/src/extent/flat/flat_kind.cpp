// Flat extents in the kind table: bytes at their own place in a file that carries no magic, so the
// kind is found as the default of FLAT and VMFS lines, never by probe.
#include "extent/flat/flat_kind.hpp"

#include "extent/flat/flat_extent.hpp"
#include "extent/flat/flat_writer.hpp"

namespace vmdk::flat {

namespace {

class FlatKind final : public extent::ExtentKind {
 public:
  std::string_view name() const override { return "flat"; }
  bool serves(ExtentType type) const override { return type == ExtentType::flat || type == ExtentType::vmfs; }
  bool probe(const ByteSource&) const override { return false; }  // no magic: raw bytes
  extent::KindCapabilities capabilities() const override { return {}; }
  std::unique_ptr<Extent> open_reader(const extent::ReaderRequest& request) const override {
    return open_flat_extent(request.file, request.start_bytes, request.size_bytes);
  }
  bool writes(DiskType type) const override {
    return type == DiskType::monolithic_flat || type == DiskType::two_gb_flat || type == DiskType::vmfs ||
           type == DiskType::vmfs_thin;
  }
  std::unique_ptr<ExtentWriter> create_writer(std::shared_ptr<ByteSink> sink,
                                              const extent::WriterParams& params) const override {
    return make_flat_writer(std::move(sink), params.capacity_bytes);
  }
};

}  // namespace

std::shared_ptr<const extent::ExtentKind> flat_kind() {
  return std::make_shared<FlatKind>();
}

}  // namespace vmdk::flat
