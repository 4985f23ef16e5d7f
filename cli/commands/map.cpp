// vmdkit map: where the chain's bytes come from, range by range, and a strip per layer.
#include <iostream>

#include "commands/command.hpp"
#include "output/printer.hpp"
#include "vmdk/ops.hpp"

namespace vmdkit_cli {

namespace {
struct MapArgs {
  std::string path;
  bool json = false;
  std::string offset;
  std::string length;
  std::size_t width = 64;
  DiskFlags flags;
};
}  // namespace

Command add_map_command(CLI::App& root) {
  auto args = std::make_shared<MapArgs>();
  auto* app = root.add_subcommand("map", "Show the allocation of the disk through its chain: for each range the "
                                         "layer that answers (depth 0 = PATH), present/zero/data, and the "
                                         "file and offset holding the data");
  app->footer(
      "present, zero, data and depth mean what 'qemu-img map --output=json' means by them. Text output adds "
      "one strip per layer: '#' data, '0' zeros, '.' nothing, '+' a mix.");
  app->add_option("PATH", args->path, "The disk (leaf of the chain)")->required();
  app->add_flag("--json", args->json, "Print one JSON document (see docs/json-output.md)");
  app->add_option("--offset", args->offset, "Start of the range to map (bytes; K/M/G suffixes accepted)");
  app->add_option("--length", args->length, "Length of the range to map (default: to the end of the disk)");
  app->add_option("--width", args->width, "Columns of each layer's strip (default 64)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  add_outside_paths_flag(*app, args->flags);
  add_cid_mismatch_flag(*app, args->flags);
  return {app, [args] {
            vmdk::MapOptions options;
            if (!args->offset.empty()) options.offset = size_option("--offset", args->offset);
            if (!args->length.empty()) options.length = size_option("--length", args->length);
            options.strip_width = args->width;
            auto chain = open_chain(args->path, args->flags);
            auto report = vmdk::map(*chain, options);
            make_printer(args->json, std::cout)->print(report);
            return 0;
          }};
}

}  // namespace vmdkit_cli
