// The drill's load generator; see load.h. Each connection is one thread that sends its share of
// the rate on an open-loop schedule (a slow answer delays that connection only).
#include "load.h"

#include <boost/json.hpp>
#include <random>

namespace mysfits::drill::detail {

double seconds_since(std::chrono::steady_clock::time_point epoch) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch).count();
}

load_generator::load_generator(load_options o, std::chrono::steady_clock::time_point epoch)
    : opts_(std::move(o)), epoch_(epoch) {}

load_generator::~load_generator() { stop(); }

void load_generator::start() {
  int n = std::max(1, opts_.connections);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this, i] { run_worker(i); });
}

void load_generator::stop() {
  stop_ = true;
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
}

std::vector<request_record> load_generator::records() const {
  std::lock_guard lock(mu_);
  return records_;
}

void load_generator::run_worker(int index) {
  const int n = std::max(1, opts_.connections);
  const double interval = n / std::max(0.1, opts_.rate);  // seconds between this worker's sends
  std::mt19937_64 rng(std::random_device{}() ^
                      static_cast<std::uint64_t>(index) * 0x9e3779b97f4a7c15ULL);
  std::uniform_real_distribution<double> unit(0, 1);
  http_connection conn(opts_.target.host, opts_.target.port, opts_.timeout);
  double next = seconds_since(epoch_) + interval * index / n;
  std::uint64_t seq = 0;
  while (!stop_) {
    double now = seconds_since(epoch_);
    if (now < next) {
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(next - now, 0.05)));
      continue;
    }
    next += interval;
    if (next < now - 1) next = now;  // far behind (a hung request): do not burst to catch up
    request_record rec;
    rec.phase = phase_.load();
    rec.like = !opts_.mysfit_ids.empty() && unit(rng) < opts_.like_fraction;
    header_list headers;
    std::string target = "/mysfits";
    std::string method = "GET";
    if (rec.like) {
      rec.mysfit = static_cast<int>(rng() % opts_.mysfit_ids.size());
      target = "/mysfits/" + opts_.mysfit_ids[static_cast<std::size_t>(rec.mysfit)] + "/like";
      method = "POST";
      if (opts_.idempotency_keys) {
        headers.emplace_back("Idempotency-Key", "drill-" + std::to_string(index) + "-" +
                                                    std::to_string(++seq) + "-" +
                                                    std::to_string(rng()));
      }
    }
    rec.sent = seconds_since(epoch_);
    auto r = conn.request(method, target, {}, headers);
    rec.done = seconds_since(epoch_);
    if (r) {
      rec.status = r->status;
      rec.region = r->region;
      rec.resent = !r->resent.empty();
      if (rec.like && r->status == 200) {
        boost::system::error_code ec;
        auto v = boost::json::parse(r->body, ec);
        if (!ec && v.is_object()) {
          if (const auto* l = v.get_object().if_contains("likes"); l && l->is_number()) {
            rec.likes_after = l->to_number<long long>();
          }
        }
      }
    }
    std::lock_guard lock(mu_);
    records_.push_back(std::move(rec));
  }
  conn.close();
}

}  // namespace mysfits::drill::detail
