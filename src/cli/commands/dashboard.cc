// `mysfits dashboard`: serves the live multi-region dashboard for a running system (issue 7),
// or prints the Prometheus scrape configuration for it.
#include "mysfits/drill/dashboard.h"

#include <fstream>
#include <iostream>

#include "commands/commands.h"
#include "mysfits/common/http_server.h"

namespace mysfits::cli {

void add_dashboard(CLI::App& app, global_options& g, int& exit_code) {
  struct args {
    std::string system, listen = "127.0.0.1:0", port_file;
    bool prometheus_config = false;
    double period = 1;
  };
  auto a = std::make_shared<args>();
  auto* cmd = app.add_subcommand("dashboard", "Serve the live multi-region dashboard page");
  cmd->add_option("--system", a->system, "system.json (default <state-dir>/system.json)");
  cmd->add_option("--listen", a->listen, "ADDRESS:PORT of the page (port 0 picks one)")
      ->capture_default_str();
  cmd->add_option("--port-file", a->port_file, "Write the page's port here once it serves");
  cmd->add_option("--period", a->period, "Seconds between scrapes")
      ->check(CLI::Range(0.2, 60.0))
      ->capture_default_str();
  cmd->add_flag("--prometheus-config", a->prometheus_config,
                "Print a Prometheus scrape configuration for the system and exit");
  cmd->callback([a, &g, &exit_code] {
    std::filesystem::path system =
        a->system.empty() ? g.state_dir / "system.json" : std::filesystem::path(a->system);
    if (a->prometheus_config) {
      auto s = drill::load_system(system);
      if (!s) {
        std::cerr << s.error().message << "\n";
        exit_code = kExitOtherError;
        return;
      }
      std::cout << drill::prometheus_config(*s);
      exit_code = 0;
      return;
    }
    drill::dashboard_options o;
    o.system_file = system;
    o.prometheus_dir = std::filesystem::absolute(system).parent_path();
    o.period = std::chrono::milliseconds(static_cast<long>(a->period * 1000));
    auto colon = a->listen.rfind(':');
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no port");
      o.address = a->listen.substr(0, colon);
      int port = std::stoi(a->listen.substr(colon + 1));
      if (port < 0 || port > 65535) throw std::out_of_range("port");
      o.port = static_cast<std::uint16_t>(port);
    } catch (const std::exception&) {
      std::cerr << "--listen must be ADDRESS:PORT, got '" << a->listen << "'\n";
      exit_code = 252;
      return;
    }
    drill::dashboard d(o);
    if (auto r = d.start(); !r) {
      std::cerr << "dashboard: " << r.error().message << "\n";
      exit_code = kExitOtherError;
      return;
    }
    if (!a->port_file.empty()) {
      auto tmp = a->port_file + ".tmp";
      std::ofstream(tmp) << d.port() << "\n";
      std::filesystem::rename(tmp, a->port_file);
    }
    std::cout << "dashboard listening on http://" << o.address << ":" << d.port() << "/"
              << std::endl;
    http::wait_for_termination_signal();
    d.stop();
    exit_code = 0;
  });
}

}  // namespace mysfits::cli
