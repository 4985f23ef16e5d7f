// vmdkit: command-line entry point. Parses the subcommand with CLI11, runs it, and turns every
// error into "vmdkit: error: <message>" on stderr with the command's error exit code (and, with
// --json, into an error object on stdout).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command.hpp"
#include "huge_heap.hpp"
#include "output/escape.hpp"
#include "output/printer.hpp"
#include "vmdk/error.hpp"

#ifndef VMDKIT_VERSION
#define VMDKIT_VERSION "unknown"
#endif

namespace {

using vmdkit_cli::Command;
using vmdkit_cli::ErrorReport;

void print_error(const std::string& message) {
  std::cout.flush();
  // Messages quote names and values from files: their control characters are shown, not obeyed.
  std::fprintf(stderr, "vmdkit: error: %s\n", vmdkit_cli::escape_controls(message).c_str());
}

// True when the command line gave --json to the parsed command (or to its parsed subcommand, as
// in `fixture build`). Commands without a --json option never print JSON, whatever the words.
bool json_requested(const CLI::App& app, int argc, char** argv) {
  if (const CLI::Option* flag = app.get_option_no_throw("--json")) {
    if (flag->count() > 0) return true;
    // A parse that stopped early may not have counted the flag yet: the word itself decides.
    for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i) {
      if (std::string_view(argv[i]) == "--json") return true;
    }
  }
  for (const CLI::App* sub : app.get_subcommands()) {
    if (json_requested(*sub, argc, argv)) return true;
  }
  return false;
}

// The message on stderr always (unchanged by --json); with --json also the error object, on
// stdout, or on stderr when stdout carries the command's data.
void report_failure(const ErrorReport& error, bool json, bool stdout_is_data) {
  print_error(error.message);
  if (json) vmdkit_cli::print_json_error(stdout_is_data ? std::cerr : std::cout, error);
}

// Points std::cout at a buffer for as long as it lives (when asked to), whatever leaves the scope.
class HeldStdout {
 public:
  explicit HeldStdout(bool hold) : saved_(hold ? std::cout.rdbuf(held_.rdbuf()) : nullptr) {}
  ~HeldStdout() { release(); }
  HeldStdout(const HeldStdout&) = delete;
  HeldStdout& operator=(const HeldStdout&) = delete;
  std::string release() {
    if (saved_ != nullptr) std::cout.rdbuf(saved_);
    saved_ = nullptr;
    return held_.str();
  }

 private:
  std::ostringstream held_;
  std::streambuf* saved_;
};

// Runs the parsed command. With --json its report is held back until the command returns, so that
// stdout gets one JSON document: the report, or the error object instead of it, never a part of a
// report followed by an error.
int run_command(const Command& command, bool json) {
  HeldStdout out(json);
  ErrorReport failure;
  try {
    const int status = command.run();
    std::cout << out.release();
    return status;
  } catch (const vmdk::Error& e) {
    failure.message = e.what();
    if (!e.file().empty()) failure.file = e.file();
    failure.offset = e.offset();
  } catch (const std::bad_alloc&) {
    failure.message = "out of memory";
  } catch (const std::exception& e) {
    failure.message = e.what();
  }
  out.release();  // what the command printed before it failed is dropped
  report_failure(failure, json, command.stdout_is_data && command.stdout_is_data());
  return command.error_exit;
}

// A command line CLI11 refused: the message names the command's --help; the exit code is that
// command's error code.
int parse_failure(const CLI::ParseError& e, const std::vector<Command>& commands, int argc, char** argv) {
  // An unknown first word is a mistyped command; CLI11 would only say one is required.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const auto& command : commands) known = known || command.app->get_name() == argv[1];
    if (!known) {
      print_error(std::string("unknown command '") + argv[1] + "' (run 'vmdkit --help')");
      return 1;
    }
  }
  const Command* parsed = nullptr;
  for (const auto& command : commands) {
    if (command.app->parsed()) parsed = &command;
  }
  const std::string name = parsed ? parsed->app->get_name() + " " : "";
  ErrorReport failure;
  failure.message = std::string(e.what()) + " (run 'vmdkit " + name + "--help')";
  report_failure(failure, parsed && json_requested(*parsed->app, argc, argv), false);
  return parsed ? parsed->error_exit : 1;
}

int run(int argc, char** argv) {
  CLI::App app{"vmdkit: inspect, read and convert VMware virtual disks (VMDK) and their snapshot chains",
               "vmdkit"};
  app.set_version_flag("--version", "vmdkit " VMDKIT_VERSION);
  app.require_subcommand(1);
  app.footer("Run 'vmdkit <command> --help' for a command's options. Exit codes: 0 success, 1 error "
             "(compare: 0 identical, 1 different, 2 error; check: 0 clean, 2 corruption, 3 only leaks; "
             "repair: 0 fixed with nothing lost, 4 fixed but ranges lost, 2 findings remain).");

  std::vector<Command> commands = {
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
    return parse_failure(e, commands, argc, argv);
  }

  for (const auto& command : commands) {
    if (command.app->parsed()) return run_command(command, json_requested(*command.app, argc, argv));
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
