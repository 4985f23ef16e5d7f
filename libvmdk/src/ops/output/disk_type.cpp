// Names of the disk types vmdkit writes (createType values, vmdk-format.md 1.5), of the snapshot
// delta formats, and of the ddb.adapterType values it offers (1.7): spelling and parsing.
#include <array>
#include <cctype>
#include <string>
#include <utility>

#include "vmdk/disk_type.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// vmfsSparse and seSparse are missing on purpose: a delta without a parent is no disk to create or
// convert to.
constexpr std::array<DiskType, 8> kDiskTypes = {
    DiskType::monolithic_sparse, DiskType::two_gb_sparse, DiskType::monolithic_flat, DiskType::two_gb_flat,
    DiskType::stream_optimized,  DiskType::vmfs,          DiskType::vmfs_thin,       DiskType::raw};

constexpr std::array<DeltaFormat, 4> kDeltaFormats = {DeltaFormat::automatic, DeltaFormat::sparse,
                                                      DeltaFormat::vmfs_sparse, DeltaFormat::se_sparse};

constexpr std::array<Adapter, 5> kAdapters = {Adapter::ide, Adapter::buslogic, Adapter::lsilogic,
                                              Adapter::lsisas1068, Adapter::pvscsi};

}  // namespace

std::string_view to_string(DiskType type) {
  switch (type) {
    case DiskType::monolithic_sparse:
      return "monolithicSparse";
    case DiskType::two_gb_sparse:
      return "twoGbMaxExtentSparse";
    case DiskType::monolithic_flat:
      return "monolithicFlat";
    case DiskType::two_gb_flat:
      return "twoGbMaxExtentFlat";
    case DiskType::stream_optimized:
      return "streamOptimized";
    case DiskType::vmfs:
      return "vmfs";
    case DiskType::raw:
      return "raw";
    case DiskType::vmfs_thin:
      return "vmfsThin";
    case DiskType::vmfs_sparse:
      return "vmfsSparse";
    case DiskType::se_sparse:
      return "seSparse";
  }
  return "unknown";
}

DiskType parse_disk_type(std::string_view name) {
  for (DiskType type : kDiskTypes) {
    if (equal_ignoring_case(name, to_string(type))) return type;
  }
  // The technote's spellings of the split types (vmdk-format.md 1.5).
  if (equal_ignoring_case(name, "2GbMaxExtentSparse")) return DiskType::two_gb_sparse;
  if (equal_ignoring_case(name, "2GbMaxExtentFlat")) return DiskType::two_gb_flat;
  std::string valid;
  for (DiskType type : kDiskTypes) valid += (valid.empty() ? "" : ", ") + std::string(to_string(type));
  throw UsageError("", "unknown disk type '" + std::string(name) + "' (valid types: " + valid + ")");
}

std::string_view to_string(DeltaFormat format) {
  switch (format) {
    case DeltaFormat::automatic:
      return "auto";
    case DeltaFormat::sparse:
      return "sparse";
    case DeltaFormat::vmfs_sparse:
      return "vmfsSparse";
    case DeltaFormat::se_sparse:
      return "seSparse";
  }
  return "unknown";
}

DeltaFormat parse_delta_format(std::string_view name) {
  for (DeltaFormat format : kDeltaFormats) {
    if (equal_ignoring_case(name, to_string(format))) return format;
  }
  // The createType spelling of hosted deltas is accepted too.
  if (equal_ignoring_case(name, "monolithicSparse")) return DeltaFormat::sparse;
  std::string valid;
  for (DeltaFormat format : kDeltaFormats)
    valid += (valid.empty() ? "" : ", ") + std::string(to_string(format));
  throw UsageError("", "unknown delta format '" + std::string(name) + "' (valid formats: " + valid + ")");
}

std::string_view to_string(Adapter adapter) {
  switch (adapter) {
    case Adapter::ide:
      return "ide";
    case Adapter::buslogic:
      return "buslogic";
    case Adapter::lsilogic:
      return "lsilogic";
    case Adapter::lsisas1068:
      return "lsisas1068";
    case Adapter::pvscsi:
      return "pvscsi";
  }
  return "unknown";
}

Adapter parse_adapter(std::string_view name) {
  for (Adapter adapter : kAdapters) {
    if (equal_ignoring_case(name, to_string(adapter))) return adapter;
  }
  std::string valid;
  for (Adapter adapter : kAdapters) valid += (valid.empty() ? "" : ", ") + std::string(to_string(adapter));
  throw UsageError("", "unknown adapter type '" + std::string(name) + "' (valid adapters: " + valid + ")");
}

}  // namespace vmdk
