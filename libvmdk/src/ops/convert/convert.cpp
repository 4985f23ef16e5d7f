// ops::convert: a chain or a raw file to raw or to any VMDK type. Raw output keeps zero and
// unallocated ranges (and data that is all zeros) as holes; VMDK output stores only non-zero grains.
#include "vmdk/convert.hpp"

#include <algorithm>

#include "ops/convert/convert_pump.hpp"
#include "ops/output/disk_output.hpp"
#include "ops/output/new_disk.hpp"
#include "ops/output/new_file_sink.hpp"
#include "ops/common/temp_file.hpp"
#include "vmdk/error.hpp"

namespace vmdk {

namespace {

// Zero detection for raw output works on pieces this big: a written grain of zeros becomes a hole.
constexpr std::uint64_t kZeroPiece = 4096;

void refuse_own_files(const ConvertSource& source, const std::filesystem::path& destination) {
  std::error_code ec;
  if (!std::filesystem::exists(destination, ec)) return;
  for (const auto& p : source.files()) {
    std::error_code e;
    if (!p.empty() && std::filesystem::equivalent(destination, p, e) && !e) {
      throw UsageError(destination.string(), "is a file of the disk being converted; choose another destination");
    }
  }
}

// Writes the non-zero pieces of every data range, neighbours merged into one write.
void write_raw(const ConvertSource& source, ByteSink& out, const ConvertOptions& options, ConvertReport& report) {
  std::uint64_t pending_start = 0, pending_end = 0;
  const std::uint8_t* pending_bytes = nullptr;
  auto flush_pending = [&] {
    if (pending_end > pending_start) {
      out.write_at(pending_start, std::span<const std::uint8_t>(pending_bytes, static_cast<std::size_t>(pending_end - pending_start)));
      report.data_bytes += pending_end - pending_start;
    }
    pending_start = pending_end = 0;
  };
  ops::pump_data(source, options.chunk_size, options.read_threads, options.progress,
                 [&](std::uint64_t offset, std::span<const std::uint8_t> data) {
                   const std::uint64_t end = offset + data.size();
                   for (std::uint64_t p = offset; p < end;) {
                     std::uint64_t q = std::min(end, (p / kZeroPiece + 1) * kZeroPiece);
                     const std::uint8_t* bytes = data.data() + (p - offset);
                     if (ops::all_zero(bytes, static_cast<std::size_t>(q - p))) {
                       report.skipped_zero_bytes += q - p;
                       flush_pending();
                     } else if (pending_end == p && pending_end > pending_start) {
                       pending_end = q;
                     } else {
                       flush_pending();
                       pending_start = p;
                       pending_end = q;
                       pending_bytes = bytes;
                     }
                     p = q;
                   }
                   flush_pending();  // the buffer behind data is reused after this call
                 });
  out.resize(report.capacity);
  out.flush();
  report.output_bytes = report.capacity;
}

void write_vmdk(const ConvertSource& source, ops::NewDiskWriter& writer, const ConvertOptions& options,
                ConvertReport& report) {
  ops::pump_data(source, options.chunk_size, options.read_threads, options.progress,
                 [&](std::uint64_t offset, std::span<const std::uint8_t> data) {
                   report.data_bytes += data.size();
                   writer.write(offset, data);
                 });
  report.files = writer.commit();
  report.output_bytes = writer.file_bytes();
}

ConvertReport new_report(const ConvertSource& source, const std::string& output, const ConvertOptions& options) {
  ConvertReport report;
  report.output = output;
  report.format = std::string(to_string(options.type));
  if (options.type != DiskType::raw) report.create_type = report.format;
  report.capacity = source.capacity();
  return report;
}

}  // namespace

ConvertReport convert(const ConvertSource& source, const std::filesystem::path& destination,
                      const ConvertOptions& options) {
  if (destination.filename().empty()) {
    throw UsageError(destination.string(), "destination is a folder, not a file name");
  }
  refuse_own_files(source, destination);
  ConvertReport report = new_report(source, destination.string(), options);
  ops::OutputRules rules;
  rules.overwrite = options.overwrite;
  rules.keep = source.files();
  rules.durability = options.durability;

  if (options.type == DiskType::raw) {
    ops::DiskOutput output(destination, {}, rules);
    ops::TempFile temp(destination);
    {
      ops::NewFileSink out(File::open(temp.temp(), File::Mode::create_truncate), options.durability);
      write_raw(source, out, options, report);
    }
    temp.rename_into_place(options.overwrite);
    ops::sync_folder(destination.parent_path(), options.durability);
    output.finish();  // the old disk's extents that nothing names any more
    report.files = {destination.string()};
    return report;
  }

  ops::NewDiskPlan plan = ops::plan_new_disk(destination, source.capacity(), options);
  for (const auto& file : plan.files) refuse_own_files(source, file.path);
  ops::NewDiskWriter writer(std::move(plan), rules);
  write_vmdk(source, writer, options, report);
  return report;
}

ConvertReport convert_to_sink(const ConvertSource& source, ByteSink& sink, const ConvertOptions& options) {
  ConvertReport report = new_report(source, "-", options);
  if (options.type == DiskType::raw) {
    std::shared_ptr<ByteSink> handle(&sink, [](ByteSink*) {});  // the caller keeps the sink alive
    ops::NewFileSink out(std::move(handle), options.durability);
    write_raw(source, out, options, report);
    report.files = {"-"};
    return report;
  }
  if (options.type != DiskType::stream_optimized) {
    throw UsageError("-", std::string("only raw and streamOptimized can be written to standard output, not ") +
                              std::string(to_string(options.type)));
  }
  ops::NewDiskPlan plan = ops::plan_new_disk("disk.vmdk", source.capacity(), options);
  // A non-owning handle: the caller keeps the sink alive for the duration of the call.
  std::shared_ptr<ByteSink> handle(&sink, [](ByteSink*) {});
  ops::NewDiskWriter writer(std::move(plan), handle);
  write_vmdk(source, writer, options, report);
  report.files = {"-"};
  return report;
}

}  // namespace vmdk
