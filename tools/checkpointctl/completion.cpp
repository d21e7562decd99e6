#include "completion.hpp"

#include <checkpoint/error.hpp>
#include <sstream>

namespace checkpointctl {
namespace {

struct Flag {
  std::vector<std::string> names;  // "--format", "-f"
  std::string description;
  std::vector<std::string> values;  // the values it takes, if a few
  bool takes_value = false;
};

struct Command {
  std::string name, description;
  std::vector<Flag> flags;
};

// A description as the shells' syntaxes can quote it: no quotes, brackets
// or colons, one line.
std::string plain(std::string text) {
  for (char& c : text) {
    if (c == '\'' || c == '"' || c == '[' || c == ']' || c == ':' || c == '\n' || c == '`' ||
        c == '\\' || c == '$') {
      c = ' ';
    }
  }
  return text;
}

std::string words(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : " ") + item;
  return out;
}

std::vector<Command> commands_of(const CLI::App& app, const OptionValues& values) {
  std::vector<Command> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    Command command{sub->get_name(), plain(sub->get_description()), {}};
    for (const CLI::Option* option : sub->get_options()) {
      if (option->get_positional() && option->get_lnames().empty() &&
          option->get_snames().empty()) {
        continue;  // positional: completed as files
      }
      Flag flag;
      for (const auto& name : option->get_lnames()) flag.names.push_back("--" + name);
      for (const auto& name : option->get_snames()) flag.names.push_back("-" + name);
      flag.description = plain(option->get_description());
      flag.takes_value = option->get_items_expected_min() > 0;
      if (!option->get_lnames().empty()) {
        auto it = values.find(command.name + " --" + option->get_lnames().front());
        if (it != values.end()) flag.values = it->second;
      }
      command.flags.push_back(std::move(flag));
    }
    out.push_back(std::move(command));
  }
  return out;
}

std::string bash(const std::string& program, const std::vector<Command>& commands) {
  std::ostringstream s;
  std::vector<std::string> names;
  for (const auto& c : commands) names.push_back(c.name);
  s << "# bash completion for " << program << "\n"
    << "_" << program << "() {\n"
    << "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} sub= i\n"
    << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
    << "    case ${COMP_WORDS[i]} in -*) ;; *) sub=${COMP_WORDS[i]}; break ;; esac\n"
    << "  done\n"
    << "  COMPREPLY=()\n"
    << "  case \"$sub\" in\n"
    << "  '') COMPREPLY=($(compgen -W '" << words(names) << " --help --version' -- \"$cur\")) ;;\n";
  for (const auto& c : commands) {
    std::vector<std::string> flags;
    s << "  " << c.name << ")\n    case \"$prev\" in\n";
    for (const auto& f : c.flags) {
      flags.insert(flags.end(), f.names.begin(), f.names.end());
      if (!f.takes_value) continue;
      s << "    ";
      for (std::size_t i = 0; i < f.names.size(); ++i) s << (i ? "|" : "") << f.names[i];
      s << ") COMPREPLY=($(compgen -W '" << words(f.values) << "' -- \"$cur\")); return ;;\n";
    }
    s << "    esac\n"
      << "    [[ $cur == -* ]] && COMPREPLY=($(compgen -W '" << words(flags)
      << "' -- \"$cur\")) ;;\n";
  }
  s << "  esac\n"
    << "}\n"
    << "complete -o default -F _" << program << " " << program << "\n";
  return s.str();
}

std::string zsh(const std::string& program, const std::vector<Command>& commands) {
  std::ostringstream s;
  s << "#compdef " << program << "\n"
    << "# zsh completion for " << program << "\n"
    << "_" << program << "() {\n"
    << "  local -a subcommands\n"
    << "  subcommands=(\n";
  for (const auto& c : commands) s << "    '" << c.name << ":" << c.description << "'\n";
  s << "  )\n"
    << "  if (( CURRENT == 2 )); then\n"
    << "    _describe 'subcommand' subcommands\n"
    << "    return\n"
    << "  fi\n"
    << "  local -a args\n"
    << "  case $words[2] in\n";
  for (const auto& c : commands) {
    s << "  " << c.name << ") args=(\n";
    for (const auto& f : c.flags) {
      for (const auto& name : f.names) {
        s << "      '" << name << "[" << f.description << "]";
        if (f.takes_value) {
          s << ":value:";
          if (!f.values.empty()) s << "(" << words(f.values) << ")";
        }
        s << "'\n";
      }
    }
    s << "    ) ;;\n";
  }
  s << "  esac\n"
    << "  _arguments -s \"${args[@]}\" '*:file:_files'\n"
    << "}\n"
    << "_" << program << " \"$@\"\n";
  return s.str();
}

std::string fish(const std::string& program, const std::vector<Command>& commands) {
  std::ostringstream s;
  std::vector<std::string> names;
  for (const auto& c : commands) names.push_back(c.name);
  s << "# fish completion for " << program << "\n"
    << "complete -c " << program << " -l version -d 'Print the version and exit'\n";
  for (const auto& c : commands) {
    s << "complete -c " << program << " -f -n '__fish_use_subcommand' -a " << c.name << " -d '"
      << c.description << "'\n";
    for (const auto& f : c.flags) {
      s << "complete -c " << program << " -n '__fish_seen_subcommand_from " << c.name << "'";
      for (const auto& name : f.names) {
        s << (name.starts_with("--") ? " -l " + name.substr(2) : " -s " + name.substr(1));
      }
      if (f.takes_value) s << (f.values.empty() ? " -r" : " -x -a '" + words(f.values) + "'");
      s << " -d '" << f.description << "'\n";
    }
  }
  return s.str();
}

}  // namespace

std::string completion_script(const std::string& shell, const CLI::App& app,
                              const OptionValues& values) {
  const std::vector<Command> commands = commands_of(app, values);
  const std::string program = app.get_name();
  if (shell == "bash") return bash(program, commands);
  if (shell == "zsh") return zsh(program, commands);
  if (shell == "fish") return fish(program, commands);
  throw checkpoint::Error(checkpoint::ErrorCode::invalid_argument,
                          "completion: unknown shell \"" + shell + "\" (bash, zsh or fish)");
}

}  // namespace checkpointctl
