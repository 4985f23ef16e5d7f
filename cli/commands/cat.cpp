// vmdkit cat: the disk's bytes through the chain, to standard output.
#include <unistd.h>

#include "commands/command.hpp"
#include "output/progress.hpp"
#include "vmdk/io.hpp"
#include "vmdk/ops.hpp"

namespace vmdkit_cli {

namespace {
struct CatArgs {
  std::string path;
  std::string offset;
  std::string length;
  bool quiet = false;
  DiskFlags flags;
};
}  // namespace

Command add_cat_command(CLI::App& root) {
  auto args = std::make_shared<CatArgs>();
  auto* app = root.add_subcommand("cat", "Write the disk's bytes, read through its chain, to standard output");
  app->footer("Offset and length must lie inside the disk's capacity.");
  app->add_option("PATH", args->path, "The disk (leaf of the chain)")->required();
  app->add_option("--offset", args->offset, "First byte to write (bytes; K/M/G suffixes accepted; default 0)");
  app->add_option("--length", args->length, "Number of bytes to write (default: to the end of the disk)");
  app->add_flag("-q,--quiet", args->quiet, "No progress bar");
  add_outside_paths_flag(*app, args->flags);
  add_cid_mismatch_flag(*app, args->flags);
  return {app, [args] {
            vmdk::CatOptions options;
            if (!args->offset.empty()) options.offset = size_option("--offset", args->offset);
            if (!args->length.empty()) options.length = size_option("--length", args->length);
            auto chain = open_chain(args->path, args->flags);
            // The bar shares the terminal with the data when stdout is one too: then stay quiet.
            ProgressBar bar("cat", !args->quiet && ::isatty(STDOUT_FILENO) != 1);
            options.progress = [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
            vmdk::StreamSink out(STDOUT_FILENO, "standard output");
            vmdk::cat(*chain, out, options);
            bar.finish();
            return 0;
          }};
}

}  // namespace vmdkit_cli
