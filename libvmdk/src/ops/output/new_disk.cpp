// Plans and writes new disks of every type vmdkit creates (see new_disk.hpp).
#include "ops/output/new_disk.hpp"

#include <algorithm>
#include <cstdio>

#include "extent/kind_table.hpp"
#include "ops/common/temp_file.hpp"
#include "ops/output/new_file_sink.hpp"
#include "vmdk/descriptor.hpp"
#include "vmdk/error.hpp"

namespace vmdk::ops {

namespace {

// VMware splits twoGbMaxExtent disks into parts of 2047 MiB (vmdk-format.md 2.10).
constexpr std::uint64_t kSplitPartBytes = 4192256ull * 512;

bool is_split(DiskType type) {
  return type == DiskType::two_gb_sparse || type == DiskType::two_gb_flat;
}
bool is_sparse_kind(DiskType type) {
  return type == DiskType::monolithic_sparse || type == DiskType::two_gb_sparse ||
         type == DiskType::stream_optimized;
}
bool is_vmfs_flat(DiskType type) {
  return type == DiskType::vmfs || type == DiskType::vmfs_thin;
}
bool embeds_descriptor(DiskType type) {
  return type == DiskType::monolithic_sparse || type == DiskType::stream_optimized;
}

void check_params(const std::filesystem::path& path, std::uint64_t capacity, const NewDiskOptions& options) {
  if (options.type == DiskType::raw) throw UsageError(path.string(), "raw is not a VMDK type");
  if (capacity == 0 || capacity % 512 != 0) {
    throw UsageError(path.string(), "capacity must be a positive multiple of 512 bytes (got " +
                                        std::to_string(capacity) + ")");
  }
  // Grain table entries are 32-bit sector numbers: a sparse extent cannot pass 2 TiB (2.8).
  if (is_sparse_kind(options.type) && !is_split(options.type) && capacity > (1ull << 41) - (1ull << 30)) {
    throw UsageError(path.string(),
                     "a " + std::string(to_string(options.type)) +
                         " disk holds at most 2 TiB - 1 GiB; use twoGbMaxExtentSparse or a flat type");
  }
  const std::uint64_t g = options.grain_size;
  if (is_sparse_kind(options.type) && (g < 4096 || g > (1u << 20) || (g & (g - 1)) != 0)) {
    throw UsageError(path.string(), "grain size must be a power of two from 4096 to 1048576 bytes (got " +
                                        std::to_string(g) + ")");
  }
  if (options.compress_level < 0 || options.compress_level > 9) {
    throw UsageError(path.string(),
                     "compression level must be 0..9 (got " + std::to_string(options.compress_level) + ")");
  }
  if (options.hw_version == 0) throw UsageError(path.string(), "hardware version must be positive");
  // numSectors of a COWD header is 32-bit (4.2.2, 7.2).
  if (options.type == DiskType::vmfs_sparse && capacity / 512 > 0xffffffffull) {
    throw UsageError(path.string(),
                     "a vmfsSparse delta holds less than 2 TiB (its capacity is a 32-bit sector count)");
  }
  if (options.type == DiskType::se_sparse && capacity > (1ull << 46)) {
    throw UsageError(path.string(), "a seSparse delta holds at most 64 TiB (4.3.3)");
  }
}

// Geometry as QEMU and current VMware write it (vmdk-format.md 1.8): informational only.
void add_geometry(std::string& ddb, std::uint64_t capacity, Adapter adapter) {
  const std::uint64_t heads = adapter == Adapter::ide ? 16 : 255;
  const std::uint64_t cylinders = std::max<std::uint64_t>(1, capacity / 512 / (heads * 63));
  ddb += "ddb.geometry.cylinders = \"" + std::to_string(cylinders) + "\"\n";
  ddb += "ddb.geometry.heads = \"" + std::to_string(heads) + "\"\n";
  ddb += "ddb.geometry.sectors = \"63\"\n";
}

std::string extent_line(DiskType type, std::uint64_t bytes, const std::string& file) {
  std::string kind = is_vmfs_flat(type)              ? "VMFS"
                     : type == DiskType::vmfs_sparse ? "VMFSSPARSE"
                     : type == DiskType::se_sparse   ? "SESPARSE"
                     : is_sparse_kind(type)          ? "SPARSE"
                                                     : "FLAT";
  std::string line = "RW " + std::to_string(bytes / 512) + " " + kind + " \"" + file + "\"";
  if (kind == "FLAT") line += " 0";
  return line + "\n";
}

std::string part_name(const std::string& stem, const std::string& ext, char kind, std::size_t index) {
  char number[8];
  std::snprintf(number, sizeof number, "%03zu", index + 1);
  return stem + "-" + kind + number + ext;
}

// The kind that writes the createType, through the table; one parameter set for every kind.
const extent::ExtentKind& writer_kind(DiskType type, const std::string& name) {
  const extent::ExtentKind* kind = extent::kind_for_create_type(type);
  if (!kind) throw UsageError(name, std::string(to_string(type)) + " is not a VMDK type");
  return *kind;
}

extent::WriterParams writer_params(std::uint64_t capacity, const NewDiskOptions& o, std::string descriptor) {
  extent::WriterParams p;
  p.capacity_bytes = capacity;
  p.grain_bytes = o.grain_size;
  p.zeroed_grains = o.zeroed_grains;
  p.descriptor = std::move(descriptor);
  p.compress_level = o.compress_level;
  p.threads = o.threads;
  return p;
}

std::unique_ptr<ExtentWriter> make_extent_writer(const std::shared_ptr<ByteSink>& file, const NewDiskFile& f,
                                                 const NewDiskOptions& o, const std::string& text) {
  // Only single-file types embed the descriptor; split sparse parts reserve an empty area.
  const std::string embedded = embeds_descriptor(o.type) ? text : std::string();
  return writer_kind(o.type, file->name()).create_writer(file, writer_params(f.size, o, embedded));
}

}  // namespace

NewDiskPlan plan_new_disk(const std::filesystem::path& path, std::uint64_t capacity,
                          const NewDiskOptions& options, std::optional<ParentLink> parent) {
  check_params(path, capacity, options);
  if (path.filename().empty()) throw UsageError(path.string(), "the disk path names a folder, not a file");
  NewDiskPlan plan;
  plan.path = path;
  plan.capacity = capacity;
  plan.options = options;
  plan.parent = parent;

  Random random(options.seed);
  plan.cid = options.cid ? *options.cid : random.cid();
  const std::string stem = path.stem().string();
  const std::string ext = path.extension().string();
  const std::filesystem::path folder = path.parent_path();

  // Extent files and their descriptor lines.
  std::string extents;
  if (embeds_descriptor(options.type)) {
    plan.files.push_back({path, 0, capacity, false});
    extents += extent_line(options.type, capacity, path.filename().string());
  } else {
    plan.files.push_back({path, 0, 0, true});
    if (is_split(options.type)) {
      char kind = options.type == DiskType::two_gb_sparse ? 's' : 'f';
      std::size_t index = 0;
      for (std::uint64_t start = 0; start < capacity; start += kSplitPartBytes, ++index) {
        std::uint64_t size = std::min(kSplitPartBytes, capacity - start);
        std::string name = part_name(stem, ext, kind, index);
        plan.files.push_back({folder / name, start, size, false});
        extents += extent_line(options.type, size, name);
      }
    } else {
      // ESXi names (5.1): NAME-flat.vmdk for data, NAME-00000N-delta.vmdk for a COWD delta,
      // NAME-00000N-sesparse.vmdk for a SESparse one.
      const char* suffix = options.type == DiskType::vmfs_sparse ? "-delta"
                           : options.type == DiskType::se_sparse ? "-sesparse"
                                                                 : "-flat";
      std::string name = stem + suffix + ext;
      plan.files.push_back({folder / name, 0, capacity, false});
      extents += extent_line(options.type, capacity, name);
    }
  }

  // Descriptor in the canonical shape of vmdk-format.md 0.5.
  std::string text = "# Disk DescriptorFile\nversion=1\n";
  text += "CID=" + format_cid(plan.cid) + "\n";
  text += "parentCID=" + format_cid(parent ? parent->parent_cid : kNoParentCid) + "\n";
  // ESXi writes "vmfs" for thin disks too, and QEMU opens no "vmfsThin" (1.5, 4.1).
  const DiskType create_type = options.type == DiskType::vmfs_thin ? DiskType::vmfs : options.type;
  text += "createType=\"" + std::string(to_string(create_type)) + "\"\n";
  if (parent) text += "parentFileNameHint=\"" + parent->hint + "\"\n";
  text += "\n# Extent description\n" + extents + "\n# The Disk Data Base\n#DDB\n\n";
  std::string long_content_id =
      options.long_content_id ? *options.long_content_id : random.long_content_id(plan.cid);
  if (parent) {
    // Deltas carry no adapter or geometry: DDB lookups walk towards the base (1.7).
    text += "ddb.longContentID = \"" + long_content_id + "\"\n";
  } else {
    std::string uuid = options.uuid ? *options.uuid : random.uuid();
    text += "ddb.adapterType = \"" + std::string(to_string(options.adapter)) + "\"\n";
    add_geometry(text, capacity, options.adapter);
    text += "ddb.longContentID = \"" + long_content_id + "\"\n";
    if (options.type == DiskType::vmfs_thin) text += "ddb.thinProvisioned = \"1\"\n";
    text += "ddb.uuid = \"" + uuid + "\"\n";
    text += "ddb.virtualHWVersion = \"" + std::to_string(options.hw_version) + "\"\n";
  }
  plan.descriptor = Descriptor::parse(text, path.string());
  return plan;
}

struct NewDiskWriter::Impl {
  struct Output {
    NewDiskFile file;
    std::unique_ptr<TempFile> temp;  // null when writing to a caller's sink
    std::filesystem::path where;     // the file written until commit (temporary or staged name)
    std::shared_ptr<ByteSink> sink;
    std::unique_ptr<ExtentWriter> writer;  // null for the standalone descriptor, and until opened
    bool finished = false;
    std::uint64_t finished_bytes = 0;
  };
  std::vector<Output> outputs;
  std::unique_ptr<DiskOutput> output;  // null when writing to a caller's sink
  std::string descriptor_text;
  bool committed = false;
  std::size_t next_to_finish = 0;  // outputs before it are finished and closed

  // A split disk has thousands of parts and writes arrive in ascending order: each part is opened
  // when the first bytes reach it (or at commit) and finished and closed once writing has moved
  // past it, so at most two files are open (the tool works under `ulimit -n 256`).
  void open(Output& out, const NewDiskOptions& o) {
    if (out.writer || out.finished || out.file.descriptor_only) return;
    std::shared_ptr<ByteSink> file(File::open(out.where, File::Mode::create_truncate));
    out.sink = std::make_shared<NewFileSink>(std::move(file), o.durability);
    out.writer = make_extent_writer(out.sink, out.file, o, descriptor_text);
  }

  void finish(Output& out, const NewDiskOptions& o) {
    if (out.finished || out.file.descriptor_only) return;
    open(out, o);  // a part no byte reached still gets its header and tables
    out.writer->finish();
    out.finished_bytes = out.writer->file_bytes();
    out.writer.reset();
    out.sink.reset();
    out.finished = true;
  }

  // Finishes the parts that end at or before offset (writes never go back).
  void finish_before(std::uint64_t offset, const NewDiskOptions& o) {
    while (next_to_finish < outputs.size() &&
           (outputs[next_to_finish].file.descriptor_only ||
            outputs[next_to_finish].file.start + outputs[next_to_finish].file.size <= offset)) {
      finish(outputs[next_to_finish++], o);
    }
  }
};

NewDiskWriter::NewDiskWriter(NewDiskPlan plan, OutputRules rules)
    : plan_(std::move(plan)), impl_(std::make_unique<Impl>()) {
  const bool standalone = !plan_.files.empty() && plan_.files.front().descriptor_only;
  std::vector<std::filesystem::path> extents;
  for (const auto& f : plan_.files) {
    if (standalone && !f.descriptor_only) extents.push_back(f.path);
  }
  rules.durability = plan_.options.durability;  // the staged descriptors follow the disk's choice
  impl_->output = std::make_unique<DiskOutput>(plan_.path, extents, std::move(rules));
  impl_->descriptor_text = plan_.descriptor.print();
  std::size_t extent_index = 0;
  for (const auto& f : plan_.files) {
    Impl::Output out;
    out.file = f;
    if (!f.descriptor_only) {  // DiskOutput writes the descriptor at commit
      if (standalone) {
        out.where = impl_->output->staged(extent_index++);
      } else {
        out.temp = std::make_unique<TempFile>(f.path);
        out.where = out.temp->temp();
      }
    }
    impl_->outputs.push_back(std::move(out));
  }
  // The first part is made now, so that a folder that cannot take the files fails before work.
  for (auto& out : impl_->outputs) {
    if (out.file.descriptor_only) continue;
    impl_->open(out, plan_.options);
    break;
  }
}

NewDiskWriter::NewDiskWriter(NewDiskPlan plan, std::shared_ptr<ByteSink> sink)
    : plan_(std::move(plan)), impl_(std::make_unique<Impl>()) {
  const auto& o = plan_.options;
  const extent::ExtentKind* kind = extent::kind_for_create_type(o.type);
  if (!kind || !kind->capabilities().sequential_only || plan_.files.size() != 1) {
    throw UsageError("-", "only streamOptimized disks can be written to a stream");
  }
  Impl::Output out;
  out.file = plan_.files.front();
  out.sink = std::make_shared<NewFileSink>(std::move(sink), o.durability);
  out.writer = kind->create_writer(out.sink, writer_params(plan_.capacity, o, plan_.descriptor.print()));
  impl_->outputs.push_back(std::move(out));
}

NewDiskWriter::~NewDiskWriter() = default;  // TempFile destructors remove what was not renamed

void NewDiskWriter::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
  if (data.empty()) return;
  impl_->finish_before(offset, plan_.options);
  for (std::size_t i = impl_->next_to_finish; i < impl_->outputs.size(); ++i) {
    auto& out = impl_->outputs[i];
    if (out.file.descriptor_only || out.finished) continue;
    const std::uint64_t start = out.file.start, end = start + out.file.size;
    if (offset + data.size() <= start) break;  // parts are in disk order
    if (offset >= end) continue;
    impl_->open(out, plan_.options);
    const std::uint64_t from = std::max(offset, start);
    const std::uint64_t to = std::min<std::uint64_t>(offset + data.size(), end);
    out.writer->write(from - start, data.subspan(static_cast<std::size_t>(from - offset),
                                                 static_cast<std::size_t>(to - from)));
  }
}

std::vector<std::string> NewDiskWriter::commit() {
  std::vector<std::string> files;
  for (auto& out : impl_->outputs) {
    impl_->finish(out, plan_.options);
    files.push_back(out.file.path.string());
  }
  if (impl_->output) {
    const bool standalone = !plan_.files.empty() && plan_.files.front().descriptor_only;
    if (standalone) {
      impl_->output->commit(plan_.descriptor);  // extents staged, the descriptor is the commit point
    } else {
      for (auto& out : impl_->outputs) {
        if (out.temp) out.temp->rename_into_place(impl_->output->overwrite());
      }
      sync_folder(plan_.path.parent_path(), plan_.options.durability);
      impl_->output->finish();
    }
  }
  impl_->committed = true;
  return files;
}

std::uint64_t NewDiskWriter::file_bytes() const {
  std::uint64_t total = 0;
  for (const auto& out : impl_->outputs) {
    if (out.file.descriptor_only) {
      total += impl_->descriptor_text.size();
    } else {
      total += out.finished ? out.finished_bytes : out.writer ? out.writer->file_bytes() : 0;
    }
  }
  return total;
}

}  // namespace vmdk::ops
