// vmdkit: command-line entry point. Parses the subcommand with CLI11, runs it, and turns every
// error into "vmdkit: error: <message>" on stderr with the command's error exit code.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <vector>

#include "commands/command.hpp"
#include "huge_heap.hpp"
#include "output/escape.hpp"
#include "vmdk/error.hpp"

#ifndef VMDKIT_VERSION
#define VMDKIT_VERSION "unknown"
#endif

namespace {

void print_error(const std::string& message) {
  std::cout.flush();
  // Messages quote names and values from files: their control characters are shown, not obeyed.
  std::fprintf(stderr, "vmdkit: error: %s\n", vmdkit_cli::escape_controls(message).c_str());
}

int run(int argc, char** argv) {
  CLI::App app{"vmdkit: inspect, read and convert VMware virtual disks (VMDK) and their snapshot chains",
               "vmdkit"};
  app.set_version_flag("--version", "vmdkit " VMDKIT_VERSION);
  app.require_subcommand(1);
  app.footer("Run 'vmdkit <command> --help' for a command's options. Exit codes: 0 success, 1 error "
             "(compare: 0 identical, 1 different, 2 error; check: 0 clean, 2 corruption, 3 only leaks; "
             "repair: 0 fixed with nothing lost, 4 fixed but ranges lost, 2 findings remain).");

  std::vector<vmdkit_cli::Command> commands = {
      vmdkit_cli::add_info_command(app),    vmdkit_cli::add_chain_command(app),
      vmdkit_cli::add_map_command(app),     vmdkit_cli::add_cat_command(app),
      vmdkit_cli::add_convert_command(app), vmdkit_cli::add_compare_command(app),
      vmdkit_cli::add_write_command(app),
      vmdkit_cli::add_create_command(app),  vmdkit_cli::add_snapshot_command(app),
      vmdkit_cli::add_fixture_command(app),
      vmdkit_cli::add_consolidate_command(app), vmdkit_cli::add_check_command(app),
      vmdkit_cli::add_repair_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return app.exit(CLI::CallForHelp());
  } catch (const CLI::CallForAllHelp&) {
    return app.exit(CLI::CallForAllHelp());
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // An unknown first word is a mistyped command; CLI11 would only say one is required.
    if (argc > 1 && argv[1][0] != '-') {
      bool known = false;
      for (const auto& command : commands) known = known || command.app->get_name() == argv[1];
      if (!known) {
        print_error(std::string("unknown command '") + argv[1] + "' (run 'vmdkit --help')");
        return 1;
      }
    }
    int code = 1;
    std::string name;
    for (const auto& command : commands) {
      if (command.app->parsed()) {
        code = command.error_exit;
        name = command.app->get_name();
      }
    }
    print_error(std::string(e.what()) + " (run 'vmdkit " + (name.empty() ? "" : name + " ") + "--help')");
    return code;
  }

  for (const auto& command : commands) {
    if (!command.app->parsed()) continue;
    try {
      return command.run();
    } catch (const vmdk::Error& e) {
      print_error(e.what());
    } catch (const std::bad_alloc&) {
      print_error("out of memory");
    } catch (const std::exception& e) {
      print_error(e.what());
    }
    return command.error_exit;
  }
  print_error("no command given (run 'vmdkit --help')");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  vmdkit_cli::use_huge_pages_for_the_heap();
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    print_error(e.what());
  } catch (...) {
    print_error("unexpected failure");
  }
  return 1;
}
