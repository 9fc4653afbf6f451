// endpoint: stats registration and the registry of pass-through connections.
#include "balance/endpoint.h"

#include <spdlog/spdlog.h>

namespace mysfits::edge {

endpoint::endpoint(const target_config& cfg, boost::asio::ip::tcp::endpoint address,
                   const health_check_config& health, const std::string& group, std::size_t workers)
    : id_(cfg.id()),
      group_(group),
      address_(address),
      weight_(cfg.weight),
      health_(health.healthy_threshold, health.unhealthy_threshold),
      workers_(workers ? workers : 1),
      outstanding_(std::make_unique<outstanding_slot[]>(workers_)),
      pool_(workers, &metrics::default_registry().get_counter(
                         "edge_upstream_unexpected_bytes_total",
                         "Pooled upstream connections closed because the endpoint sent bytes "
                         "after a complete response, unasked (a second response, garbage)",
                         {{"group", group}, {"endpoint", cfg.id()}})) {
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
  first_byte_timeouts_ = &reg.get_counter(
      "edge_first_byte_timeouts_total",
      "Requests given up on an endpoint that sent no response byte within the first-byte timeout",
      {{"group", group_}, {"endpoint", id_}});
  passive_ejections_ = &reg.get_counter(
      "edge_passive_ejections_total",
      "Times an endpoint was taken out of rotation by passive health (a request timed out and "
      "nothing came back from it since)",
      {{"group", group_}, {"endpoint", id_}});
  cut_responses_ = &reg.get_counter(
      "edge_responses_cut_total",
      "Streamed responses whose head had gone to the client when the endpoint failed or timed "
      "out mid-body: the client connection was closed without completing the message",
      {{"group", group_}, {"endpoint", id_}});
  early_responses_ = &reg.get_counter(
      "edge_early_responses_total",
      "Final responses that came while a streamed request body was still being sent (an early "
      "answer, say 413): passed on at once, the rest of the upload not sent, the client "
      "connection closed after it",
      {{"group", group_}, {"endpoint", id_}});
}

bool endpoint::first_byte_timed_out(clock::time_point sent) {
  first_byte_timeouts_->inc();
  if (last_response_.load(std::memory_order_relaxed) >= sent.time_since_epoch().count()) {
    return false;  // it still answers others: this request was slow, the endpoint is not dead
  }
  const auto before = health_.state();
  if (!health_.mark_unhealthy_passively()) return false;
  passive_ejections_->inc();
  count_health_transition(health_state::unhealthy);
  spdlog::info(
      "edge: health transition group={} target={} {} -> unhealthy (passive: no response byte "
      "within {} ms and none from it since the request was sent)",
      group_, id_, to_string(before), first_byte_timeout_.count());
  return true;
}

int endpoint::outstanding() const {
  int total = 0;
  for (std::size_t i = 0; i < workers_; ++i)
    total += outstanding_[i].n.load(std::memory_order_relaxed);
  return total;
}

void endpoint::count_response(unsigned status) {
  total_.inc();
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
