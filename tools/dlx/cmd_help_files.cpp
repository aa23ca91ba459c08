// `dlx completion bash|zsh` and `dlx man`: the shell completion script and the manual page,
// both written from the CLI's own definition (the subcommands, their options and help texts), so
// that a new subcommand or option appears in them without anyone editing a list. The build runs
// them to make the installed files (tools/dlx/CMakeLists.txt).
#include <fmt/format.h>

#include <iostream>
#include <sstream>

#include "tools/dlx/commands.h"

namespace dlx::tools {

namespace {

// What a value on the command line is, for completion: the positional's or option's name says.
enum class ValueKind { kNone, kYaml, kFolder, kImage, kFile };

ValueKind kind_of(const std::string& name) {
  if (name == "FILE") return ValueKind::kYaml;
  if (name == "RUN" || name == "PATH" || name == "--folder" || name == "--runs")
    return ValueKind::kFolder;
  if (name == "--files") return ValueKind::kImage;
  if (name == "--image" || name == "--html" || name == "--out" || name == "--csv")
    return ValueKind::kFile;
  return ValueKind::kNone;
}

// The bash words that complete a value of `kind`.
std::string compgen_for(ValueKind kind) {
  switch (kind) {
    case ValueKind::kYaml:
      return "COMPREPLY=($(compgen -f -X '!*.y*ml' -- \"$cur\") $(compgen -d -- \"$cur\"))";
    case ValueKind::kFolder:
      return "COMPREPLY=($(compgen -d -- \"$cur\"))";
    case ValueKind::kImage:
      return "COMPREPLY=($(compgen -f -X '!*.@(png|PNG|jpg|JPG|jpeg|JPEG)' -- \"$cur\") "
             "$(compgen -d -- \"$cur\"))";
    case ValueKind::kFile:
      return "COMPREPLY=($(compgen -f -- \"$cur\"))";
    case ValueKind::kNone:
      break;
  }
  return "COMPREPLY=()";
}

std::string long_name(const CLI::Option* o) {
  return o->get_lnames().empty() ? "" : "--" + o->get_lnames().front();
}

std::vector<const CLI::App*> commands_of(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    out.push_back(sub);
  return out;
}

std::string bash_case(const CLI::App& cmd) {
  std::string options = "--help", values, positional = "COMPREPLY=()";
  for (const CLI::Option* o : cmd.get_options()) {
    if (o->get_positional()) {
      positional = compgen_for(kind_of(o->get_name()));
      continue;
    }
    const std::string name = long_name(o);
    if (name.empty() || name == "--help") continue;
    options += " " + name;
    if (o->get_type_size() != 0)
      values += fmt::format("        {}) {}; return ;;\n", name, compgen_for(kind_of(name)));
  }
  return fmt::format(
      "    {})\n      case \"$prev\" in\n{}      esac\n"
      "      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); return; fi\n"
      "      {}\n      ;;\n",
      cmd.get_name(), values, options, positional);
}

std::string bash_script(const CLI::App& app) {
  std::string names, cases;
  for (const CLI::App* cmd : commands_of(app)) {
    names += (names.empty() ? "" : " ") + cmd->get_name();
    cases += bash_case(*cmd);
  }
  return fmt::format(
      "# bash completion for dlx; written by `dlx completion bash` from dlx's own options.\n"
      "_dlx() {{\n"
      "  local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" prev=\"${{COMP_WORDS[COMP_CWORD-1]}}\"\n"
      "  local cmd=\"\" i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    [[ ${{COMP_WORDS[i]}} == -* ]] || {{ cmd=${{COMP_WORDS[i]}}; break; }}\n"
      "  done\n"
      "  if [[ -z $cmd ]]; then\n"
      "    COMPREPLY=($(compgen -W \"{} --help --version\" -- \"$cur\")); return\n"
      "  fi\n"
      "  shopt -s extglob\n"
      "  case \"$cmd\" in\n{}  esac\n"
      "}}\n"
      "complete -o filenames -F _dlx dlx\n",
      names, cases);
}

// zsh runs the bash function through its bashcompinit layer.
std::string zsh_script(const CLI::App& app) {
  return "#compdef dlx\n# zsh completion for dlx; written by `dlx completion zsh`.\n"
         "autoload -U +X bashcompinit && bashcompinit\n" +
         bash_script(app);
}

// troff text: a backslash, a leading dot or apostrophe, and hyphens made literal.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

std::string man_command(const CLI::App& cmd) {
  std::string usage = "dlx " + cmd.get_name();
  std::string items;
  for (const CLI::Option* o : cmd.get_options()) {
    if (o->get_positional()) {
      usage += " " + o->get_name();
      items += ".TP\n\\fI" + roff(o->get_name()) + "\\fR\n" + roff(o->get_description()) + "\n";
      continue;
    }
    const std::string name = long_name(o);
    if (name.empty() || name == "--help") continue;
    const std::string value = o->get_type_size() != 0 ? " \\fIVALUE\\fR" : "";
    items += ".TP\n\\fB" + roff(name) + "\\fR" + value + "\n" + roff(o->get_description()) + "\n";
  }
  return ".SS \"" + roff(usage) + " [OPTIONS]\"\n" + roff(cmd.get_description()) + "\n" + items;
}

std::string man_page(const CLI::App& app) {
  std::ostringstream out;
  out << ".TH DLX 1 \"\" \"dlx " << DLX_VERSION << "\" \"User Commands\"\n"
      << ".SH NAME\ndlx \\- declarative deep\\-learning experiments on LibTorch\n"
      << ".SH SYNOPSIS\n.B dlx\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]\n"
      << ".SH DESCRIPTION\n"
      << "dlx reads an experiment in YAML (the model's layers, the dataset, the training), builds "
         "the network, trains it on the CPU or a CUDA GPU, and writes each run's metrics and "
         "report as JSON in a run folder, so that runs can be compared, resumed and swept.\n"
      << ".SH COMMANDS\n";
  for (const CLI::App* cmd : commands_of(app)) out << man_command(*cmd);
  out << ".SH EXIT STATUS\n"
      << "0: done. 1: the run or the machine failed (missing data, a bad file). 2: a mistake in "
         "the input (config, arguments), as one line naming where. 3: the training diverged. "
         "128+N: stopped by signal N, resumable with \\fBdlx resume\\fR.\n"
      << ".SH FILES\n"
      << "Example experiments and models are installed under \\fIshare/dlx\\fR beside the "
         "program's prefix; runs are written to \\fIruns/\\fR in the current folder unless "
         "\\fB\\-\\-runs\\fR says otherwise.\n"
      << ".SH SEE ALSO\nThe documentation in \\fIshare/doc/dlx\\fR: configuration, keys, layers, "
         "runs, sweeps, distributed training and performance.\n";
  return out.str();
}

}  // namespace

void add_help_file_commands(CLI::App& app, Command& chosen) {
  auto shell = std::make_shared<std::string>();
  CLI::App* completion = app.add_subcommand(
      "completion", "print the shell completion script (source <(dlx completion bash))");
  completion->add_option("SHELL", *shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  completion->callback([&app, shell, &chosen] {
    chosen = [&app, shell] {
      std::cout << (*shell == "zsh" ? zsh_script(app) : bash_script(app));
      return 0;
    };
  });
  CLI::App* man = app.add_subcommand("man", "print dlx's manual page (troff, for man -l -)");
  man->callback([&app, &chosen] {
    chosen = [&app] {
      std::cout << man_page(app);
      return 0;
    };
  });
}

}  // namespace dlx::tools
