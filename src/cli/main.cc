// `mysfits`: the operator's CLI for the local cloud (DESIGN.md §2.4). Verbs live in commands/.
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "commands/commands.h"
#include "mysfits/common/log.h"

int main(int argc, char** argv) {
  mysfits::log::init("mysfits", "warn");
  CLI::App app{"mysfits: run Mythical Mysfits in several regions on this machine"};
  app.require_subcommand(1);
  mysfits::cli::global_options g;
  const char* state = std::getenv("MYSFITS_STATE_DIR");
  g.state_dir = state && *state ? state : ".mysfits";
  const char* region = std::getenv("AWS_REGION");
  g.region = region && *region ? region : "us-west-2";
  app.add_option("--state-dir", g.state_dir,
                 "State directory (default $MYSFITS_STATE_DIR or ./.mysfits)");
  int exit_code = 0;
  mysfits::cli::add_cloudformation(app, g, exit_code);
  mysfits::cli::add_ecs(app, g, exit_code);
  mysfits::cli::add_pipeline(app, g, exit_code);
  mysfits::cli::add_system(app, g, exit_code);
  mysfits::cli::add_dashboard(app, g, exit_code);
  mysfits::cli::add_drill(app, g, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 252;
  }
  return exit_code;
}
