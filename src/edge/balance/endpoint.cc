// endpoint: stats registration and the registry of pass-through connections.
#include "balance/endpoint.h"

namespace mysfits::edge {

endpoint::endpoint(const target_config& cfg, boost::asio::ip::tcp::endpoint address,
                   const health_check_config& health, const std::string& group, std::size_t workers)
    : id_(cfg.id()),
      group_(group),
      address_(address),
      weight_(cfg.weight),
      health_(health.healthy_threshold, health.unhealthy_threshold),
      pool_(workers) {
  auto& reg = metrics::default_registry();
  static const char* classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < by_class_.size(); ++i) {
    by_class_[i] = &reg.get_counter("edge_endpoint_requests_total",
                                    "Responses sent for requests forwarded to an endpoint",
                                    {{"group", group_}, {"endpoint", id_}, {"code", classes[i]}});
  }
  static const char* states[] = {"initial", "healthy", "unhealthy"};
  for (std::size_t i = 0; i < transitions_.size(); ++i) {
    transitions_[i] =
        &reg.get_counter("edge_health_transitions_total", "Health state changes of an endpoint",
                         {{"group", group_}, {"endpoint", id_}, {"to", states[i]}});
  }
}

void endpoint::count_response(unsigned status) {
  total_.fetch_add(1, std::memory_order_relaxed);
  unsigned c = status / 100;
  by_class_[c >= 1 && c <= 5 ? c : 0]->inc();
}

void endpoint::count_health_transition(health_state to) {
  transitions_[static_cast<std::size_t>(to)]->inc();
}

std::uint64_t endpoint::track_connection(std::function<void()> closer) {
  std::lock_guard lock(conns_mu_);
  auto id = next_conn_++;
  conns_.emplace(id, std::move(closer));
  return id;
}

void endpoint::untrack_connection(std::uint64_t id) {
  std::lock_guard lock(conns_mu_);
  conns_.erase(id);
}

void endpoint::close_tracked_connections() {
  std::map<std::uint64_t, std::function<void()>> conns;
  {
    std::lock_guard lock(conns_mu_);
    conns.swap(conns_);
  }
  for (auto& [id, close] : conns) close();
}

std::size_t endpoint::tracked_connections() const {
  std::lock_guard lock(conns_mu_);
  return conns_.size();
}

}  // namespace mysfits::edge
