// health_checker: a coroutine per target on the health executor.
#include "health/checker.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>

#include "health/http_checker.h"

namespace mysfits::edge {

namespace asio = boost::asio;

struct health_checker::state {
  state(asio::any_io_executor e, std::shared_ptr<endpoint> t)
      : ex(e), timer(e), target(std::move(t)) {}
  asio::any_io_executor ex;
  asio::steady_timer timer;
  std::shared_ptr<endpoint> target;
  probe_spec spec;
  std::chrono::milliseconds interval{};
  bool stopped = false;  // touched only on ex (a single-threaded loop)
};

namespace {

asio::awaitable<void> check_loop(std::shared_ptr<health_checker::state> st) {
  while (!st->stopped) {
    bool ok = co_await probe_once(st->spec);
    if (st->stopped) break;
    auto& h = st->target->health();
    auto before = h.state();
    if (auto to = h.record(ok)) {
      st->target->count_health_transition(*to);
      spdlog::info("edge: health transition group={} target={} {} -> {}", st->target->group(),
                   st->target->id(), to_string(before), to_string(*to));
    }
    st->timer.expires_after(st->interval);
    auto [ec] = co_await st->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;  // cancelled means stopped, which the loop condition sees
  }
}

}  // namespace

health_checker::health_checker(asio::any_io_executor ex, std::shared_ptr<endpoint> target,
                               const health_check_config& cfg)
    : state_(std::make_shared<state>(ex, std::move(target))) {
  auto& s = *state_;
  s.interval = cfg.interval;
  s.spec.address = s.target->address();
  if (cfg.port) s.spec.address.port(*cfg.port);
  s.spec.http = cfg.protocol == "HTTP";
  s.spec.path = cfg.path;
  s.spec.host_header = s.target->id();
  s.spec.timeout = cfg.timeout;
  if (auto codes = parse_matcher(cfg.matcher)) s.spec.success_codes = *codes;
}

health_checker::~health_checker() { stop(); }

void health_checker::start() {
  asio::co_spawn(state_->ex, check_loop(state_), [st = state_](std::exception_ptr e) {
    if (e) spdlog::error("edge: health checker for {} ended with an exception", st->target->id());
  });
}

void health_checker::stop() {
  asio::post(state_->ex, [st = state_] {
    st->stopped = true;
    st->timer.cancel();
  });
}

}  // namespace mysfits::edge
