// The health-check session of one target (Envoy's shared session, one small probe per
// protocol): every interval it probes, feeds host_health, logs one line per transition and
// counts it. Started when a target is registered, stopped when it is removed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "balance/endpoint.h"
#include "mysfits/edge/config.h"

namespace mysfits::edge {

class health_checker {
 public:
  health_checker(boost::asio::any_io_executor ex, std::shared_ptr<endpoint> target,
                 const health_check_config& cfg);
  ~health_checker();  // stops
  health_checker(const health_checker&) = delete;
  health_checker& operator=(const health_checker&) = delete;

  void start();
  // Ends the loop after the probe in flight (if any). Thread-safe, idempotent.
  void stop();

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace mysfits::edge
