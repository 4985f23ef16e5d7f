// Helpers shared by the subcommands: disk flags, opening a chain with its warnings, size options.
#include <cstdio>

#include "commands/command.hpp"
#include "output/format.hpp"
#include "vmdk/error.hpp"

namespace vmdkit_cli {

void add_outside_paths_flag(CLI::App& app, DiskFlags& flags) {
  app.add_flag("--allow-outside-paths", flags.allow_outside_paths,
               "Accept extent and parent paths outside the descriptor's folder (absolute paths, '..', "
               "device nodes, symlinks pointing elsewhere)");
}

void add_cid_mismatch_flag(CLI::App& app, DiskFlags& flags) {
  app.add_flag("--allow-cid-mismatch", flags.allow_cid_mismatch,
               "Read through a parent whose CID does not match the child's parentCID (warns on stderr)");
}

vmdk::ChainOptions chain_options(const DiskFlags& flags) {
  vmdk::ChainOptions options;
  options.open.allow_outside_paths = flags.allow_outside_paths;
  options.allow_cid_mismatch = flags.allow_cid_mismatch;
  return options;
}

std::unique_ptr<vmdk::Chain> open_chain(const std::string& path, const DiskFlags& flags) {
  auto chain = vmdk::Chain::open(path, chain_options(flags));
  for (const auto& w : chain->warnings()) warn(w);
  return chain;
}

void warn(const std::string& message) {
  std::fprintf(stderr, "vmdkit: warning: %s\n", message.c_str());
  std::fflush(stderr);
}

std::uint64_t size_option(const std::string& option, const std::string& text) {
  auto value = parse_size(text);
  if (!value) {
    throw vmdk::UsageError("", "invalid " + option + " value '" + text +
                                   "' (expected a byte count: decimal, 0x hex, optional K/M/G/T suffix)");
  }
  return *value;
}

}  // namespace vmdkit_cli
