// The control API (a separate loopback port): JSON state, health and counters, Prometheus
// /metrics, and the run-time changes — traffic dials, weights, registering and deregistering
// targets. The proxy implements control_plane; handle() maps HTTP requests onto it.
//   GET    /state  /health  /counters  /metrics
//   PUT    /groups/{group}/dial                  {"TrafficDialPercentage": 50}
//   PUT    /groups/{group}/targets/{id}/weight   {"Weight": 128}
//   POST   /groups/{group}/targets               {"Id": "127.0.0.1:8080", "Weight": 128}
//   DELETE /groups/{group}/targets/{id}          (also POST …/targets/{id}/deregister)
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "mysfits/common/http_server.h"
#include "mysfits/common/result.h"
#include "mysfits/edge/config.h"

namespace mysfits::edge {

class control_plane {
 public:
  virtual ~control_plane() = default;
  // {"Role", "Listeners": [ports], "Groups": [{"Name", "TrafficDialPercentage"?, "Targets":
  // [{"Id", "Weight", "Health", "Draining", "Outstanding", "Requests"}]}]}
  virtual boost::json::object state() = 0;
  [[nodiscard]] virtual result<void> set_traffic_dial(const std::string& group, double percent) = 0;
  [[nodiscard]] virtual result<void> set_weight(const std::string& group, const std::string& id,
                                                int weight) = 0;
  [[nodiscard]] virtual result<void> register_target(const std::string& group,
                                                     const target_config& target) = 0;
  // Stops new requests to the target at once and removes it after the deregistration delay.
  [[nodiscard]] virtual result<void> deregister_target(const std::string& group,
                                                       const std::string& id) = 0;
};

// Serves one control API request. Never throws for bad input: 400/404/405 with a message.
http::response handle_control_request(control_plane& plane, http::request& req);

}  // namespace mysfits::edge
