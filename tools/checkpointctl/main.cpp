// checkpointctl: inspect, edit, verify and convert checkpoint stores.
//
// Exit codes (commands.hpp): 0 success, 1 failure (one line on stderr
// naming the store and the cause), 2 usage error, 3 salvage lost states.
#include <checkpoint/version.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <checkpoint/error.hpp>
#include <checkpoint/registry.hpp>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "completion.hpp"
#include "format.hpp"

namespace {

using checkpointctl::kUsage;

std::string example(const std::string& text) { return "\nExample:\n  " + text + "\n"; }

// Decimal digits only: CLI11 would wrap "-1" around to 2^64-1.
std::uint64_t parse_record_number(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    throw checkpoint::Error(
        checkpoint::ErrorCode::invalid_argument,
        "--record-number \"" + text + "\" is not an integer from 0 to 18446744073709551615");
  }
  return value;
}

// CLI11's usage message about `argv`, with every config string's password
// masked as everywhere else (it quotes the arguments it did not expect).
std::string redacted_usage(std::string text, int argc, char** argv) {
  auto mask = [&text](const std::string& given) {
    const std::string shown = checkpoint::redacted_config(given);
    if (shown == given) return;
    for (auto at = text.find(given); at != std::string::npos; at = text.find(given, at)) {
      text.replace(at, given.size(), shown);
      at += shown.size();
    }
  };
  for (int i = 1; i < argc; ++i) {
    const std::string given = argv[i];
    mask(given);
    // --option=VALUE: CLI11 quotes the value alone.
    if (auto eq = given.find('='); given.starts_with("-") && eq != std::string::npos) {
      mask(given.substr(eq + 1));
    }
  }
  return text;
}

// Each line of `text` escaped (format.hpp), the line breaks kept.
std::string printable_lines(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += checkpointctl::escaped(std::string_view(text).substr(start, end - start), false);
    if (end < text.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace checkpointctl;
  CLI::App app{
      "checkpointctl: inspect, edit, verify and convert checkpoint stores.\n"
      "A STORE is a config string such as yaml:/var/lib/winlogbeat/.winlogbeat.yml,\n"
      "sqlite:state.db or a plain path whose extension names the backend.",
      "checkpointctl"};
  app.require_subcommand(1);
  // The library's version, which help2man reads for the man page.
  app.set_version_flag("--version", std::string("checkpointctl ") + checkpoint_version_string(),
                       "Print the version and exit");
  app.footer(example("checkpointctl dump .winlogbeat.yml --format table") +
             example("checkpointctl --plugin ./liblines_plugin.so convert state.yml "
                     "lines:state.lines") +
             "\nExit codes: 0 success, 1 failure (the store failed, is damaged or lacks the\n"
             "state), 2 usage error, 3 salvage wrote what it could read but lost states.\n");

  std::string uri, dst, name, format = "table", output = "text", timestamp, bookmark, shell;
  std::string record_number;
  bool force = false;
  // Plugins (checkpoint/plugin.h) to load before the subcommand runs.
  std::vector<std::string> plugins;
  app.add_option("--plugin", plugins,
                 "Load the backends of a plugin (a shared object; trusted code) before the "
                 "subcommand; repeatable. A file in the current directory: ./FILE")
      ->type_name("FILE")
      ->allow_extra_args(false);
  // --format text|json of the commands that print results: stable JSON
  // field names for scripts (docs/checkpointctl.md).
  checkpointctl::OptionValues values = {{"dump --format", {"table", "yaml", "json"}}};
  auto output_option = [&](CLI::App* command) {
    command->add_option("-f,--format", output, "text (for people) or json (for scripts)")
        ->check(CLI::IsMember({"text", "json"}));
    values[command->get_name() + " --format"] = {"text", "json"};
  };

  auto* backends =
      app.add_subcommand("backends", "List the backends, their options and extensions");
  output_option(backends);
  backends->footer(example("checkpointctl backends"));

  auto* dump = app.add_subcommand("dump", "Print every state of a store");
  dump->add_option("STORE", uri, "Store config string")->required();
  dump->add_option("-f,--format", format,
                   "table (for people), yaml or json (the backends' documents)")
      ->check(CLI::IsMember({"table", "yaml", "json"}));
  dump->footer(
      example("checkpointctl dump sqlite:/var/lib/shipper/state.db --format json > state.json"));

  auto* get = app.add_subcommand("get", "Print one state; exit 1 if it is absent");
  get->add_option("STORE", uri, "Store config string")->required();
  get->add_option("NAME", name, "Stream name")->required();
  output_option(get);
  get->footer(example("checkpointctl get .winlogbeat.yml Application"));

  auto* set = app.add_subcommand("set", "Add or change one state");
  set->add_option("STORE", uri, "Store config string")->required();
  set->add_option("NAME", name, "Stream name")->required();
  auto* rn_opt = set->add_option(
      "-r,--record-number", record_number,
      "Record number, 0 to 18446744073709551615 (default: keep the current one; a new state needs "
      "it)");
  auto* ts_opt =
      set->add_option("-t,--timestamp", timestamp,
                      "RFC 3339 time or \"now\" (default: keep the current one; a new state: now)");
  auto* bm_opt = set->add_option("-b,--bookmark", bookmark,
                                 "Bookmark text (default: keep the current one; \"\" clears it)");
  set->footer(
      example("checkpointctl set .winlogbeat.yml Application --record-number 0 --timestamp now"));

  auto* rm = app.add_subcommand("rm", "Remove one state, so its stream is read from the start");
  rm->add_option("STORE", uri, "Store config string")->required();
  rm->add_option("NAME", name, "Stream name")->required();
  rm->footer(example("checkpointctl rm .winlogbeat.yml Security"));

  std::string older_than;
  bool dry_run = false;
  auto* prune = app.add_subcommand(
      "prune", "Remove the states of streams that no commit changed for a while, in one commit");
  prune->add_option("STORE", uri, "Store config string")->required();
  prune
      ->add_option("--older-than", older_than,
                   "How long unchanged: a whole number and d, h, m or s (30d, 12h, 90m)")
      ->required();
  prune->add_flag("--dry-run", dry_run, "List what would be removed; change nothing");
  prune->footer(example("checkpointctl prune sqlite:/var/lib/shipper/state.db --older-than 30d"));

  auto* verify = app.add_subcommand("verify", "Load a store and check it; exit 1 if it is damaged");
  verify->add_option("STORE", uri, "Store config string")->required();
  output_option(verify);
  verify->footer(example("checkpointctl verify lmdb:/var/lib/shipper/state.lmdb"));

  auto* compact = app.add_subcommand(
      "compact",
      "Rewrite a store to its minimal size, as a writer; print its size before and after");
  compact->add_option("STORE", uri, "Store config string")->required();
  output_option(compact);
  compact->footer(
      example("checkpointctl compact sqlite:/var/lib/shipper/state.db\n"
              "SQLite: VACUUM; LMDB: a compacting copy that replaces the file; YAML and JSON\n"
              "files are minimal already. Stop the shipper first: it holds the writer lock."));

  auto* convert = app.add_subcommand(
      "convert", "Copy every state from SRC to DST in one commit, then compare them");
  convert->add_option("SRC", uri, "Source store config string (never modified)")->required();
  convert->add_option("DST", dst, "Destination store config string")->required();
  convert->add_flag("--force", force,
                    "Replace what DST holds (by default a non-empty DST is refused)");
  convert->footer(
      example("checkpointctl convert .winlogbeat.yml sqlite:/var/lib/shipper/state.db"));

  auto* salvage =
      app.add_subcommand("salvage", "Copy every state still readable from a damaged store to DST");
  salvage->add_option("SRC", uri, "Damaged store (never modified)")->required();
  salvage->add_option("DST", dst, "Destination store config string")->required();
  salvage->add_flag("--force", force, "Replace what DST holds");
  output_option(salvage);
  salvage->footer(
      example("checkpointctl salvage .winlogbeat.yml yaml:.winlogbeat.salvaged.yml\n"
              "Reads each state on its own, keeps those that read back exactly, and lists\n"
              "what it could not read. Check the list, then move the new file into place."));

  auto* stores = app.add_subcommand(
      "stores", "List the stores of a database that holds many: states, update time, holder");
  stores->add_option("DATABASE", uri, "Config string of the database (store= not needed)")
      ->required();
  output_option(stores);
  stores->footer(example("checkpointctl stores postgresql://shipper@db.example.com/checkpoint"));

  auto* completion = app.add_subcommand(
      "completion", "Print a completion script for bash, zsh or fish, to source in the shell");
  completion->add_option("SHELL", shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  completion->footer(example(
      "checkpointctl completion bash > ~/.local/share/bash-completion/completions/checkpointctl\n"
      "(make install and the Debian package install the three scripts)"));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (argc > 1 && argv[1][0] != '-' && app.get_subcommands().empty()) {
      std::cerr << "checkpointctl: unknown subcommand \""
                << escaped(checkpoint::redacted_config(argv[1]))
                << "\" (checkpointctl --help lists them)\n";
      return kUsage;
    }
    // CLI11 quotes the arguments it did not expect: escaped, line by line.
    std::ostringstream out, err;
    app.exit(e, out, err);
    std::cout << printable_lines(redacted_usage(out.str(), argc, argv));
    std::cerr << printable_lines(redacted_usage(err.str(), argc, argv));
    return kUsage;
  }

  const Output out_format = output == "json" ? Output::json : Output::text;
  try {
    for (const auto& plugin : plugins) checkpoint::load_plugin(plugin);
    if (*backends) return cmd_backends(out_format, std::cout);
    if (*dump) return cmd_dump(uri, format, std::cout);
    if (*get) return cmd_get(uri, name, out_format, std::cout);
    if (*set) {
      SetArgs args{uri, name, std::nullopt, std::nullopt, std::nullopt};
      if (*rn_opt) args.record_number = parse_record_number(record_number);
      if (*ts_opt) args.timestamp = timestamp;
      if (*bm_opt) args.bookmark = bookmark;
      return cmd_set(args, std::cout);
    }
    if (*rm) return cmd_rm(uri, name, std::cout);
    if (*prune) return cmd_prune(uri, parse_duration(older_than), dry_run, std::cout);
    if (*verify) return cmd_verify(uri, out_format, std::cout);
    if (*compact) return cmd_compact(uri, out_format, std::cout);
    if (*convert) return cmd_convert(uri, dst, force, std::cout);
    if (*salvage) return cmd_salvage(uri, dst, force, out_format, std::cout);
    if (*stores) return cmd_stores(uri, out_format, std::cout);
    if (*completion) {
      std::cout << completion_script(shell, app, values);
      return kOk;
    }
  } catch (const checkpoint::Error& e) {
    // Messages name the arguments, which may hold anything.
    std::cerr << "checkpointctl: " << escaped(e.what(), false) << "\n";
    return e.code() == checkpoint::ErrorCode::invalid_config ||
                   e.code() == checkpoint::ErrorCode::invalid_argument
               ? kUsage
               : 1;
  } catch (const std::exception& e) {
    std::cerr << "checkpointctl: " << escaped(e.what(), false) << "\n";
    return 1;
  }
  return kUsage;
}
