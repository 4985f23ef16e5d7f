// ZERO extents in the kind table: no file to probe, nothing to write.
#include "extent/zero/zero_kind.hpp"

#include "extent/zero/zero_extent.hpp"

namespace vmdk::zero {

namespace {

class ZeroKind final : public extent::ExtentKind {
 public:
  std::string_view name() const override { return "zero"; }
  bool serves(ExtentType type) const override { return type == ExtentType::zero; }
  bool probe(const ByteSource&) const override { return false; }
  extent::KindCapabilities capabilities() const override {
    extent::KindCapabilities caps;
    caps.needs_file = false;
    return caps;
  }
  std::unique_ptr<Extent> open_reader(const extent::ReaderRequest& request) const override {
    return open_zero_extent(request.size_bytes);
  }
};

}  // namespace

std::shared_ptr<const extent::ExtentKind> zero_kind() {
  return std::make_shared<ZeroKind>();
}

}  // namespace vmdk::zero
