// vmdkit write: bytes from a file, a repeated byte or zeros into the top layer of a chain, with
// grain-level copy-on-write.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"
#include "output/progress.hpp"
#include "vmdk/write.hpp"
#include "vmdk/error.hpp"

namespace vmdkit_cli {

namespace {
struct WriteArgs {
  std::string path;
  std::string offset;
  std::string from;
  std::string pattern;
  bool zero = false;
  std::string length;
  bool force = false;
  std::optional<std::uint64_t> seed;
  bool json = false;
  bool quiet = false;
  DiskFlags flags;
};

std::uint8_t parse_byte(const std::string& text) {
  auto value = size_option("--pattern", text);
  if (value > 255 || text.find_first_not_of("0123456789abcdefABCDEFxX") != std::string::npos) {
    throw vmdk::UsageError("", "invalid --pattern value '" + text + "' (expected a byte: 0..255 or 0x00..0xff)");
  }
  return static_cast<std::uint8_t>(value);
}

// --from FILE, or standard input with '-': read to its end into an unnamed file beside the disk,
// since the write needs its length before it starts.
std::unique_ptr<vmdk::File> open_write_source(const WriteArgs& args) {
  if (args.from != "-") return vmdk::File::open(args.from);
  if (::isatty(STDIN_FILENO)) {
    throw vmdk::UsageError("-", "refusing to read disk data from a terminal; redirect standard input");
  }
  const std::filesystem::path folder = std::filesystem::path(args.path).parent_path();
  return vmdk::File::spool(STDIN_FILENO, "<stdin>", folder.empty() ? "." : folder);
}
}  // namespace

Command add_write_command(CLI::App& root) {
  auto args = std::make_shared<WriteArgs>();
  auto* app = root.add_subcommand("write", "Write data into the top layer of a disk's chain (copy-on-write)");
  app->footer(
      "Exactly one of --from, --pattern or --zero. The data goes into PATH's own layer: a grain that is "
      "only partly written gets the rest of its bytes from the layers below, so the disk reads as before "
      "everywhere else. New grains are appended and become visible only after they are on disk (grain data, "
      "sync, grain tables, sync), so a crash leaves every grain with its old or its new content; an old copy "
      "of a rewritten grain stays in the file as unused space. Whole-grain zero writes become zeroed-grain "
      "entries when the disk allows them (--zeroed-grains at create/snapshot). vmfsSparse (ESXi COWD) deltas "
      "work the same way at their 1-sector grains, seSparse deltas at their 4 KiB grains (zero writes become "
      "zero-grain entries). The disk's CID "
      "changes once, after the data, as VMware does. Refused: a disk that has a child (write into the "
      "child), a streamOptimized disk (convert it first), a disk locked by VMware (unless --force).");
  app->add_option("PATH", args->path, "The disk to write (the top of its chain)")->required();
  app->add_option("--offset", args->offset, "Byte offset in the disk (K/M/G/T suffixes, 0x hex)")->required();
  auto* from = app->add_option("--from", args->from,
                               "Write the content of this regular file or block device (all of it unless --length), "
                               "or of standard input with '-' (read to its end first); empty input is an error");
  auto* pattern = app->add_option("--pattern", args->pattern, "Write this byte repeated (decimal or 0x hex)");
  auto* zero = app->add_flag("--zero", args->zero, "Write zeros");
  from->excludes(pattern)->excludes(zero);
  pattern->excludes(zero);
  app->add_option("--length", args->length, "Bytes to write (required with --pattern and --zero)");
  app->add_flag("--force", args->force, "Write although a .lck folder marks the disk in use");
  app->add_option("--seed", args->seed, "Seed for the new CID (repeatable runs)");
  app->add_flag("--json", args->json, "Print a JSON summary (see docs/json-output.md)");
  app->add_flag("-q,--quiet", args->quiet, "No progress bar and no summary");
  add_outside_paths_flag(*app, args->flags);
  return {app, [args] {
            vmdk::WriteData data;
            std::unique_ptr<vmdk::File> source;
            const bool has_length = !args->length.empty();
            if (!args->from.empty()) {
              source = open_write_source(*args);
              data.kind = vmdk::WriteData::Kind::bytes;
              data.source = source.get();
              data.length = has_length ? size_option("--length", args->length) : source->size();
              // Writing nothing and saying "wrote 0 B" would hide a wrong --from (an empty pipe).
              if (source->size() == 0) {
                throw vmdk::UsageError(source->name(), "is empty: nothing to write (--from needs data)");
              }
            } else if (!args->pattern.empty() || args->zero) {
              if (!has_length) throw vmdk::UsageError("", "--length is required with --pattern and --zero");
              data.kind = args->zero ? vmdk::WriteData::Kind::zero : vmdk::WriteData::Kind::pattern;
              if (!args->zero) data.pattern = parse_byte(args->pattern);
              data.length = size_option("--length", args->length);
            } else {
              throw vmdk::UsageError("", "say what to write: --from FILE, --pattern BYTE or --zero");
            }
            vmdk::WriteOptions options;
            options.chain = chain_options(args->flags);
            options.force = args->force;
            options.seed = args->seed;
            ProgressBar bar("write", !args->quiet);
            options.progress = [&bar](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
            auto report = vmdk::write(args->path, size_option("--offset", args->offset), data, options);
            bar.finish();
            if (args->json || !args->quiet) make_printer(args->json, std::cout)->print(report);
            return 0;
          }};
}

}  // namespace vmdkit_cli
