// COWD extents in the kind table: "COWD" magic, grain updates in place, a new delta starts empty.
#include "extent/cowd/cowd_kind.hpp"

#include "extent/cowd/cowd_extent.hpp"
#include "extent/cowd/cowd_updater.hpp"
#include "extent/cowd/cowd_writer.hpp"
#include "format/cowd_header.hpp"

namespace vmdk::cowd {

namespace {

class CowdKind final : public extent::ExtentKind {
 public:
  std::string_view name() const override { return "cowd"; }
  bool serves(ExtentType type) const override { return type == ExtentType::vmfssparse; }
  bool probe(const ByteSource& file) const override { return has_cowd_magic(file); }
  extent::KindCapabilities capabilities() const override {
    extent::KindCapabilities caps;
    caps.writable_in_place = true;
    caps.whole_file = true;
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
};

}  // namespace

std::shared_ptr<const extent::ExtentKind> cowd_kind() { return std::make_shared<CowdKind>(); }

}  // namespace vmdk::cowd
