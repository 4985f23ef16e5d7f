// vmdkit convert: a chain (or a raw file) to raw or to any VMDK type, through temporary files
// renamed into place when complete, or to standard output.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"
#include "output/progress.hpp"
#include "vmdk/convert.hpp"
#include "vmdk/error.hpp"

namespace vmdkit_cli {

namespace {
struct ConvertArgs {
  std::string source;
  std::string destination;
  std::string from;
  bool json = false;
  bool quiet = false;
  bool overwrite = false;
  DiskFlags flags;
  NewDiskFlags disk;
};

// SRC '-' with --from raw: standard input read to its end into an unnamed file beside DST (the
// output's header needs the capacity before the first byte is written).
std::unique_ptr<vmdk::ConvertSource> stdin_raw_source(const ConvertArgs& args) {
  if (args.from != "raw") {
    throw vmdk::UsageError("-", "standard input is read only as a raw image: add --from raw");
  }
  if (::isatty(STDIN_FILENO)) {
    throw vmdk::UsageError("-", "refusing to read a disk image from a terminal; redirect standard input");
  }
  std::filesystem::path folder = args.destination == "-" ? "." : std::filesystem::path(args.destination).parent_path();
  return vmdk::raw_source(vmdk::File::spool(STDIN_FILENO, "<stdin>", folder.empty() ? "." : folder));
}
}  // namespace

Command add_convert_command(CLI::App& root) {
  auto args = std::make_shared<ConvertArgs>();
  auto* app = root.add_subcommand("convert", "Convert a disk, read through its chain, to raw or another VMDK type");
  app->footer(
      "TYPE is raw, monolithicSparse, twoGbMaxExtentSparse, monolithicFlat, twoGbMaxExtentFlat, streamOptimized "
      "or vmfs. SRC is a VMDK (descriptor or sparse file) read through its snapshot chain, or with --from raw a raw "
      "image; formats are never guessed from content. Only data is stored: zero and unallocated ranges become "
      "holes (raw, flat) or absent grains (sparse, stream). Every output file is written under a temporary name "
      "beside DST and put in place when complete, the descriptor last: whenever a convert is interrupted, "
      "DST is wholly the old disk or wholly the new one (leftover '.DST.vmdkit-*' files are removed by the "
      "next run). An existing DST (the descriptor or any extent file it would write) is refused unless "
      "--overwrite; even then a DST that is a layer with children, a file another disk's descriptor names, "
      "or a file of SRC is refused. With --overwrite the old disk's extent files that the new one does not "
      "use and no descriptor in the folder names are removed. DST '-' writes raw or streamOptimized to standard output. "
      "streamOptimized output uses VMware's streamed layout and compresses on every core. SRC '-' with --from raw reads "
      "standard input to its end first (into an unnamed file beside DST); an empty input is an error. Only regular "
      "files and block devices are read: a FIFO, socket, character device or /proc file is refused.");
  app->add_option("SRC", args->source, "The disk to read (leaf of the chain), or a raw file with --from raw ('-': standard input)")->required();
  app->add_option("DST", args->destination, "The file to write, or - for standard output")->required();
  app->add_option("--to", args->disk.type, "Output type (see below)")->required();
  app->add_option("--from", args->from, "Input format when SRC is not a VMDK: raw");
  add_new_disk_flags(*app, args->disk, /*with_compression=*/true);
  app->add_flag("--json", args->json, "Print a JSON summary (see docs/json-output.md)");
  app->add_flag("-q,--quiet", args->quiet, "No progress bar and no summary");
  app->add_flag("--overwrite", args->overwrite,
                "Replace an existing DST (never a disk with children, another disk's file or a file of SRC)");
  add_outside_paths_flag(*app, args->flags);
  add_cid_mismatch_flag(*app, args->flags);
  return {app, [args] {
            vmdk::ConvertOptions options;
            static_cast<vmdk::NewDiskOptions&>(options) = new_disk_options(args->disk);
            options.overwrite = args->overwrite;
            if (!args->from.empty() && args->from != "raw") {
              throw vmdk::UsageError("", "--from takes only 'raw' (VMDK input is recognised by itself)");
            }
            std::unique_ptr<vmdk::Chain> chain;
            std::unique_ptr<vmdk::ConvertSource> source;
            if (args->source == "-") {
              source = stdin_raw_source(*args);
            } else if (args->from == "raw") {
              source = vmdk::raw_source(args->source);
            } else {
              chain = open_chain(args->source, args->flags);
              source = vmdk::chain_source(*chain);
            }
            const bool to_stdout = args->destination == "-";
            if (to_stdout && ::isatty(STDOUT_FILENO)) {
              throw vmdk::UsageError("-", "refusing to write a disk image to a terminal; redirect standard output");
            }
            ProgressBar bar("convert", !args->quiet);
            options.progress = [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
            vmdk::ConvertReport report;
            if (to_stdout) {
              vmdk::StreamSink sink(STDOUT_FILENO, "<stdout>");
              report = vmdk::convert_to_sink(*source, sink, options);
            } else {
              report = vmdk::convert(*source, args->destination, options);
            }
            bar.finish();
            // With DST '-' stdout carries the image: the summary goes nowhere (or JSON to stderr).
            if (to_stdout) {
              if (args->json) make_printer(true, std::cerr)->print(report);
            } else if (args->json || !args->quiet) {
              make_printer(args->json, std::cout)->print(report);
            }
            return 0;
          },
          1, [args] { return args->destination == "-"; }};
}

}  // namespace vmdkit_cli
