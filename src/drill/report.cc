// The drill report as text: the same figures as the JSON, one line each, in the order the drill
// measured them.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>

#include "mysfits/drill/drill.h"

namespace mysfits::drill {

namespace json = boost::json;

namespace {

std::string num(const json::value* v, const char* unit = "") {
  if (!v || v->is_null()) return "not measured";
  if (v->is_bool()) return v->get_bool() ? "yes" : "no";
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64() || v->is_uint64()) return fmt::format("{}{}", v->to_number<long long>(), unit);
  if (v->is_double()) {
    double d = v->get_double();
    if (*unit == '\0' && d == std::floor(d) && std::fabs(d) < 1e15) return fmt::format("{}", d);
    return fmt::format("{:.3f}{}", d, unit);
  }
  return json::serialize(*v);
}

const json::value* at(const json::object& o, std::string_view key) { return o.if_contains(key); }

std::string shares(const json::value* v) {
  if (!v || !v->is_object()) return "-";
  std::string out;
  for (const auto& [k, x] : v->get_object()) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {:.1f}%", std::string(k), x.to_number<double>() * 100);
  }
  return out;
}

}  // namespace

std::string format_report(const json::object& r) {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  line(fmt::format("Drill against {} (primary {}, secondary {}, accelerator mode {})",
                   num(at(r, "system")), num(at(r, "primary_region")),
                   num(at(r, "secondary_region")), num(at(r, "accelerator_mode"))));
  line(fmt::format(
      "Load: {} req/s, {} likes, {} connections, {} s per phase; {} requests, {} failed",
      num(at(r, "rate")), num(at(r, "like_fraction")), num(at(r, "connections")),
      num(at(r, "phase_seconds")), num(at(r, "requests")), num(at(r, "failed_requests_total"))));
  line(fmt::format("Conflict-free likes (mysfits:counter-merge): {}", num(at(r, "counter_merge"))));
  if (const auto* splits = at(r, "splits"); splits && splits->is_array()) {
    line("Traffic dials:");
    for (const auto& s : splits->get_array()) {
      const auto& o = s.as_object();
      if (o.contains("error")) {
        line(fmt::format("  {:<22} error: {}", num(at(o, "split")), num(at(o, "error"))));
        continue;
      }
      line(fmt::format(
          "  {:<22} observed {} | dashboard {} | {} requests, {} failed -> {}", num(at(o, "split")),
          shares(at(o, "observed_share")), shares(at(o, "dashboard_share")), num(at(o, "requests")),
          num(at(o, "failed")),
          at(o, "matches") && at(o, "matches")->as_bool() ? "matches" : "DOES NOT MATCH"));
    }
  }
  if (const auto* f = at(r, "failover"); f && f->is_object()) {
    const auto& o = f->get_object();
    line(fmt::format("Break ({}):", num(at(r, "break"))));
    if (const auto* b = at(o, "break"); b && b->is_object() && b->get_object().contains("error")) {
      line("  error: " + num(b->get_object().if_contains("error")));
    }
    line("  accelerator marked the primary unhealthy after " +
         num(at(o, "accelerator_marked_unhealthy_s"), " s"));
    line("  last answer from the primary after            " +
         num(at(o, "last_response_from_primary_s"), " s"));
    line("  recovery (last failed request) after          " + num(at(o, "recovery_s"), " s") +
         (at(o, "recovered") && !at(o, "recovered")->as_bool() ? "  (still failing at the end!)"
                                                               : ""));
    line("  failed requests                               " + num(at(o, "failed_requests")) +
         " of " + num(at(o, "requests_after_break")) + " " +
         (at(o, "failed_by_status") ? json::serialize(*at(o, "failed_by_status")) : ""));
    line("  primary answers after failover                " +
         num(at(o, "primary_answers_after_failover")));
    line("  slowest answer after the break                " +
         num(at(o, "slowest_answer_after_break_s"), " s"));
    line("  requests resent to the other region           " + num(at(o, "requests_resent")));
    line("  acknowledged likes missing in the survivor    " +
         num(at(o, "likes_missing_in_survivor_after_recovery")));
  }
  if (const auto* h = at(r, "heal"); h && h->is_object()) {
    line("Heal (" + num(h->get_object().if_contains("how")) + "): primary healthy again after " +
         num(h->get_object().if_contains("primary_healthy_again_s"), " s"));
    if (const auto* e = h->get_object().if_contains("error")) line("  error: " + num(e));
  }
  if (const auto* c = at(r, "convergence"); c && c->is_object()) {
    const auto& o = c->get_object();
    if (at(o, "regions_agree")->as_bool()) {
      line("Regions agree on every mysfit's likes after " + num(at(o, "time_to_agree_s"), " s"));
    } else {
      line("Regions did NOT agree within " + num(at(o, "waited_up_to_s"), " s") + ": " +
           (at(o, "differing_mysfits") ? json::serialize(*at(o, "differing_mysfits")) : ""));
    }
  }
  if (const auto* l = at(r, "loss"); l && l->is_object()) {
    const auto& o = l->get_object();
    line(
        fmt::format("Likes: {} acknowledged; in {}: {} superseded under last-writer-wins, {} "
                    "unexplained loss, {} counted more than acknowledged",
                    num(at(o, "likes_acknowledged")), num(at(o, "judged_in_region")),
                    num(at(o, "superseded_under_lww")), num(at(o, "unexplained_loss")),
                    num(at(o, "counted_more_than_acknowledged"))));
    if (const auto* late = at(o, "overwritten_by_late_duplicates");
        late && late->to_number<double>() > 0) {
      line(
          fmt::format("  {} lost where a resent like was applied late on a stale copy "
                      "(last-writer-wins; conflict-free likes prevent it)",
                      num(late)));
    }
    if (at(o, "duplicates")) {
      line(
          fmt::format("  of those: {} duplicates (of {} likes resent to the other region), {} "
                      "applied without an answer (of {} unanswered), {} unexplained",
                      num(at(o, "duplicates")), num(at(o, "likes_resent")),
                      num(at(o, "unacknowledged_but_applied")), num(at(o, "likes_unacknowledged")),
                      num(at(o, "unexplained_extra"))));
    }
    if (const auto* d = at(o, "refused_after_deadline_in_primary"); d && d->is_object()) {
      line(fmt::format(
          "  the thawed primary refused {} (load balancer) and {} (tasks) requests whose "
          "deadline had passed (X-Edge-Deadline: not applied after being resent)",
          num(d->get_object().if_contains("load_balancer")),
          num(d->get_object().if_contains("tasks"))));
    }
  }
  if (const auto* n = at(r, "notes"); n && n->is_array()) {
    for (const auto& x : n->get_array()) line("Note: " + num(&x));
  }
  return out;
}

}  // namespace mysfits::drill
