// mysfits-edge: `serve --config FILE` runs the load balancer or accelerator the file describes;
// `status`, `set-dial`, `set-weight`, `register` and `deregister` talk to a running one's
// control API.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "mysfits/common/http_server.h"
#include "mysfits/common/log.h"
#include "mysfits/edge/edge.h"

namespace {

int print_result(const mysfits::result<std::string>& r) {
  if (!r) {
    std::cerr << "mysfits-edge: " << r.error().message << "\n";
    return 1;
  }
  std::cout << *r << "\n";
  return 0;
}

std::string json_body(const char* key, const boost::json::value& v) {
  return boost::json::serialize(boost::json::object{{key, v}});
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mysfits-edge: regional load balancer and global accelerator"};
  app.require_subcommand(1);

  std::string config_file, listen_address = "127.0.0.1", control_address = "127.0.0.1";
  int control_port = 0;
  int threads = 2;
  std::string log_level = "info";
  int deadline_tolerance_ms = 50;
  auto* serve = app.add_subcommand("serve", "Run the proxy a configuration file describes");
  serve->add_option("--config", config_file, "JSON configuration (AWS property names)")->required();
  serve->add_option("--listen-address", listen_address, "Address of the traffic listeners");
  serve->add_option("--control-address", control_address, "Address of the control API");
  serve->add_option("--control-port", control_port, "Control API port (0 picks one)")
      ->check(CLI::Range(0, 65535));
  serve->add_option("--threads", threads, "Worker threads")->check(CLI::Range(1, 64));
  int busy_poll_us = 0;
  serve
      ->add_option("--busy-poll-us", busy_poll_us,
                   "Keep polling (yielding the CPU) this long after a worker's last event before "
                   "it sleeps; 0: sleep at once")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  bool pin_workers = true;
  serve
      ->add_flag("--pin-workers,!--no-pin-workers", pin_workers,
                 "Bind each worker thread to a CPU of its own (when there are enough CPUs), "
                 "moving one that waits 15 ms for its CPU to the others for a while (default: "
                 "on; --no-pin-workers turns it off)")
      ->capture_default_str();
  std::uint64_t body_limit = 0;
  serve
      ->add_option("--body-limit", body_limit,
                   "Largest request or response body accepted (413 / 502); 0: no limit")
      ->capture_default_str();
  std::uint64_t stream_threshold = 64 * 1024;
  serve
      ->add_option("--stream-threshold", stream_threshold,
                   "Bodies up to this many bytes are buffered whole; larger ones are streamed")
      ->capture_default_str();
  int request_timeout_ms = 10000, upstream_timeout_ms = 30000;
  serve
      ->add_option("--request-timeout-ms", request_timeout_ms,
                   "A whole request after its first byte (408); while a large body is streamed, "
                   "each read from the client; every write to a client")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600000));
  serve
      ->add_option("--upstream-timeout-ms", upstream_timeout_ms,
                   "A whole response (504); while a large response is streamed, each read from "
                   "the upstream (and each write of a streamed request body to it)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600000));
  serve->add_option("--log-level", log_level, "spdlog level");
  serve
      ->add_option("--deadline-tolerance-ms", deadline_tolerance_ms,
                   "Clock skew allowed before a request whose X-Edge-Deadline passed is refused")
      ->check(CLI::Range(0, 60000));

  std::string control_url, group, target;
  double percent = 0;
  int weight = 128;
  auto add_control = [&](CLI::App* sub) {
    sub->add_option("--control", control_url, "Control API URL, e.g. http://127.0.0.1:9901")
        ->required();
  };
  auto* status = app.add_subcommand("status", "Show groups, targets, health and counters");
  add_control(status);
  auto* set_dial = app.add_subcommand("set-dial", "Set an endpoint group's traffic dial");
  add_control(set_dial);
  set_dial->add_option("--group", group, "Endpoint group (its region)")->required();
  set_dial->add_option("--percent", percent, "TrafficDialPercentage 0..100")->required();
  auto* set_weight = app.add_subcommand("set-weight", "Set a target's or endpoint's weight");
  add_control(set_weight);
  set_weight->add_option("--group", group, "Target group or endpoint group")->required();
  set_weight->add_option("--target", target, "host:port")->required();
  set_weight->add_option("--weight", weight, "Weight 0..255")->required();
  auto* reg = app.add_subcommand("register", "Register a target in a group");
  add_control(reg);
  reg->add_option("--group", group, "Target group or endpoint group")->required();
  reg->add_option("--target", target, "host:port")->required();
  reg->add_option("--weight", weight, "Weight 0..255");
  auto* dereg = app.add_subcommand("deregister", "Deregister (drain) a target");
  add_control(dereg);
  dereg->add_option("--group", group, "Target group or endpoint group")->required();
  dereg->add_option("--target", target, "host:port")->required();

  CLI11_PARSE(app, argc, argv);

  using mysfits::edge::control_request;
  if (*status) return print_result(control_request(control_url, "GET", "/state"));
  if (*set_dial) {
    return print_result(control_request(control_url, "PUT", "/groups/" + group + "/dial",
                                        json_body("TrafficDialPercentage", percent)));
  }
  if (*set_weight) {
    return print_result(control_request(control_url, "PUT",
                                        "/groups/" + group + "/targets/" + target + "/weight",
                                        json_body("Weight", weight)));
  }
  if (*reg) {
    auto body = boost::json::serialize(boost::json::object{{"Id", target}, {"Weight", weight}});
    return print_result(
        control_request(control_url, "POST", "/groups/" + group + "/targets", body));
  }
  if (*dereg) {
    return print_result(
        control_request(control_url, "DELETE", "/groups/" + group + "/targets/" + target));
  }

  mysfits::log::init("mysfits-edge", log_level);
  std::ifstream in(config_file);
  if (!in) {
    std::cerr << "mysfits-edge: cannot read " << config_file << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto cfg = mysfits::edge::parse_config(text.str());
  if (!cfg) {
    std::cerr << "mysfits-edge: " << config_file << ": " << cfg.error().message << "\n";
    return 2;
  }
  mysfits::edge::options o;
  o.config = std::move(*cfg);
  o.listen_address = listen_address;
  o.control_address = control_address;
  o.control_port = static_cast<std::uint16_t>(control_port);
  o.threads = static_cast<std::size_t>(threads);
  o.busy_poll = std::chrono::microseconds(busy_poll_us);
  o.pin_workers = pin_workers;
  o.deadline_tolerance = std::chrono::milliseconds(deadline_tolerance_ms);
  o.body_limit = body_limit;
  o.stream_threshold = stream_threshold;
  o.request_timeout = std::chrono::milliseconds(request_timeout_ms);
  o.upstream_timeout = std::chrono::milliseconds(upstream_timeout_ms);
  mysfits::edge::proxy p(std::move(o));
  if (auto r = p.start(); !r) {
    std::cerr << "mysfits-edge: " << r.error().message << "\n";
    return 1;
  }
  for (auto port : p.ports())
    std::cout << "listener http://" << listen_address << ":" << port << "\n";
  std::cout << "control http://" << control_address << ":" << p.control_port() << std::endl;
  mysfits::http::wait_for_termination_signal();
  p.stop();
  return 0;
}
