// The check and repair hooks of the extent kinds (kind_hooks.hpp): each answer comes from the
// kind's folder; this file only picks the folder by the descriptor line's type.
#include "extent/kind_hooks.hpp"

#include "extent/cowd/cowd_repair.hpp"
#include "extent/cowd/cowd_scan.hpp"
#include "extent/sesparse/sesparse_repair.hpp"
#include "extent/sesparse/sesparse_scan.hpp"
#include "extent/sparse/kdmv_layout.hpp"
#include "extent/sparse/sparse_repair.hpp"
#include "extent/sparse/sparse_scan.hpp"

namespace vmdk::extent {

bool has_file_scan(ExtentType type) {
  return type == ExtentType::sparse || type == ExtentType::vmfssparse || type == ExtentType::sesparse;
}

std::vector<Finding> scan_extent_file(ExtentType type, const std::filesystem::path& path, std::uint64_t length) {
  std::shared_ptr<File> file = File::open(path);
  switch (type) {
    case ExtentType::sparse: return sparse::scan_sparse(*file, length).findings;
    case ExtentType::vmfssparse: return cowd::scan_cowd(file, length);
    case ExtentType::sesparse: return sesparse::scan_sesparse(file, length);
    default: return {};
  }
}

void plan_extent_repair(ExtentType type, const RepairTarget& target, RepairPlan& plan) {
  switch (type) {
    case ExtentType::sparse: sparse::plan_sparse_file_repair(target, plan); return;
    case ExtentType::vmfssparse: cowd::plan_cowd_repair(target, plan); return;
    case ExtentType::sesparse: sesparse::plan_sesparse_repair(target, plan); return;
    default: return;
  }
}

DescriptorArea embedded_descriptor_area(const ByteSource& file) {
  const format::SparseHeader h = sparse::read_sparse_header(file);
  return {h.descriptor_offset * format::kSectorSize, h.descriptor_size * format::kSectorSize};
}

}  // namespace vmdk::extent
