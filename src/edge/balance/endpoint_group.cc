// Dial spill-over across endpoint groups and weighted rendezvous choice within one.
#include "balance/endpoint_group.h"

#include <cmath>
#include <functional>

namespace mysfits::edge {

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

namespace {

// Uniform in (0, 1).
double unit(std::uint64_t x) { return (static_cast<double>(x >> 11) + 0.5) * 0x1.0p-53; }

}  // namespace

endpoint_group::endpoint_group(const endpoint_group_config& cfg)
    : group(cfg.region, cfg.health, cfg.deregistration_delay),
      dial_(cfg.traffic_dial),
      first_byte_timeout_(first_byte_timeout_or_default(cfg)),
      latency_(&metrics::default_registry().get_histogram(
          "edge_request_duration_seconds", "Time from request read to response written, per group",
          {{"group", cfg.region}})) {}

endpoint_ptr endpoint_group::pick(std::uint64_t draw, const exclusion& exclude,
                                  bool ignore_health) const {
  const auto& list = current_members().members;  // no lock on the request path
  endpoint_ptr best;
  double best_score = 0;
  for (const auto& e : list) {
    int w = e->weight();
    if (w <= 0 || e->is_draining() || is_excluded(exclude, e.get())) continue;
    if (!ignore_health && !e->health().is_routable()) continue;
    // Weighted rendezvous hashing: score = -w / ln(u) picks e with probability w / sum(w), and
    // a fixed draw keeps picking the same endpoint while it stays eligible.
    double u = unit(mix64(draw ^ std::hash<std::string>{}(e->id())));
    double score = -static_cast<double>(w) / std::log(u);
    if (!best || score > best_score) {
      best = e;
      best_score = score;
    }
  }
  return best;
}

bool endpoint_group::has_eligible(const exclusion& exclude) const {
  const auto& list = current_members().members;
  for (const auto& e : list) {
    if (e->weight() > 0 && !e->is_draining() && e->health().is_routable() &&
        !is_excluded(exclude, e.get())) {
      return true;
    }
  }
  return false;
}

endpoint_ptr select_endpoint(const endpoint_group_list& groups, std::uint64_t draw,
                             const exclusion& exclude) {
  // Fail open only when nothing anywhere is routable; exclusions (retries) do not count as
  // unhealthy, so a retry never falls back onto an endpoint known to be down.
  bool any_routable = false;
  for (const auto& g : groups) any_routable = any_routable || g->has_eligible({});
  const bool ignore_health = !any_routable;

  const std::shared_ptr<endpoint_group>* fallback = nullptr;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    double dial = g->traffic_dial();
    if (dial <= 0) continue;
    if (!ignore_health && !g->has_eligible(exclude)) continue;  // spills to the next group
    if (!fallback) fallback = &g;
    double u = unit(mix64(draw + 0x51ed270b27f3a1cdULL * (i + 1)));
    if (u * 100.0 < dial) {
      if (auto e = g->pick(draw, exclude, ignore_health)) return e;
    }
  }
  // Traffic that every group's dial turned away goes to the first group that can take any.
  if (fallback) return (*fallback)->pick(draw, exclude, ignore_health);
  return nullptr;
}

}  // namespace mysfits::edge
