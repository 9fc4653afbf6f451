// `mysfits drill`: the workshop's lab 5 against the running system (issue 7); thin over
// mysfits::drill::run_drill.
#include "mysfits/drill/drill.h"

#include <boost/json.hpp>
#include <iostream>

#include "commands/commands.h"

namespace mysfits::cli {

namespace {

// "5s", "500ms", "2m" or a plain number of seconds.
bool parse_duration(const std::string& text, std::chrono::milliseconds& out) {
  try {
    std::size_t used = 0;
    double v = std::stod(text, &used);
    auto unit = text.substr(used);
    double ms = unit == "ms"                    ? v
                : unit == "m"                   ? v * 60000
                : (unit.empty() || unit == "s") ? v * 1000
                                                : -1;
    if (ms < 0) return false;
    out = std::chrono::milliseconds(static_cast<long long>(ms));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

void add_drill(CLI::App& app, global_options& g, int& exit_code) {
  struct args {
    std::string system, mix = "likes=0.5", how = "kill", duration = "5s", converge = "60s",
                        counter_merge;
    double rate = 100;
    int connections = 8;
    bool json = false, no_idempotency = false;
  };
  auto a = std::make_shared<args>();
  auto* cmd = app.add_subcommand(
      "drill", "Lab 5: load through the accelerator, dial splits, break the primary, heal, report");
  cmd->add_option("--system", a->system, "system.json (default <state-dir>/system.json)");
  cmd->add_option("--rate", a->rate, "Requests per second")
      ->check(CLI::Range(1.0, 100000.0))
      ->capture_default_str();
  cmd->add_option("--mix", a->mix, "Share of likes, e.g. likes=0.5 (the rest load the list)")
      ->capture_default_str();
  cmd->add_option("--break", a->how, "desired-count, kill, cut or none")->capture_default_str();
  cmd->add_option("--duration", a->duration, "Length of each measured phase (5s, 500ms)")
      ->capture_default_str();
  cmd->add_option("--connections", a->connections, "Keep-alive client connections")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--converge-timeout", a->converge, "Longest wait for the regions to agree")
      ->capture_default_str();
  cmd->add_flag("--no-idempotency-key", a->no_idempotency,
                "Send likes without an Idempotency-Key (the accelerator will not retry them)");
  cmd->add_option("--counter-merge", a->counter_merge,
                  "on or off: tag or untag the table with mysfits:counter-merge first "
                  "(conflict-free likes); default: leave it")
      ->check(CLI::IsMember({"on", "off"}));
  cmd->add_flag("--json", a->json, "Print the report as JSON");
  cmd->callback([a, &g, &exit_code] {
    drill::drill_options o;
    o.system_file =
        a->system.empty() ? g.state_dir / "system.json" : std::filesystem::path(a->system);
    o.rate = a->rate;
    o.connections = a->connections;
    o.idempotency_keys = !a->no_idempotency;
    if (!a->counter_merge.empty()) o.counter_merge = a->counter_merge == "on";
    auto how = drill::parse_break_kind(a->how);
    bool mix_ok = a->mix.rfind("likes=", 0) == 0;
    if (mix_ok) {
      try {
        o.like_fraction = std::stod(a->mix.substr(6));
        mix_ok = o.like_fraction >= 0 && o.like_fraction <= 1;
      } catch (const std::exception&) {
        mix_ok = false;
      }
    }
    if (!how || !mix_ok || !parse_duration(a->duration, o.phase) ||
        !parse_duration(a->converge, o.converge_timeout)) {
      std::cerr << (!how      ? how.error().message
                    : !mix_ok ? "--mix must be likes=F with F from 0 to 1"
                              : "--duration/--converge-timeout must look like 5s or 500ms")
                << "\n";
      exit_code = 252;
      return;
    }
    o.how = *how;
    std::error_code ec;
    o.mysfits_exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (!a->json) o.progress = [](const std::string& s) { std::cerr << s << std::endl; };
    auto report = drill::run_drill(o);
    if (!report) {
      std::cerr << "drill: " << report.error().message << "\n";
      exit_code = kExitOtherError;
      return;
    }
    if (a->json) {
      std::cout << boost::json::serialize(*report) << std::endl;
    } else {
      std::cout << drill::format_report(*report);
    }
    exit_code = 0;
  });
}

}  // namespace mysfits::cli
