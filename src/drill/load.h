// The drill's load: a fixed request rate through the accelerator over HTTP/1.1 keep-alive
// connections, a mix of likes and page loads, every request recorded (when, what, which region
// answered, status). Internal to mysfits::drill.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"

namespace mysfits::drill::detail {

struct request_record {
  double sent = 0;  // seconds since the load's epoch
  double done = 0;
  int phase = 0;
  bool like = false;
  unsigned status = 0;         // 0: no answer (connection failed or timed out)
  std::string region;          // X-Mysfits-Region of the answer
  int mysfit = -1;             // index into the ids (likes)
  long long likes_after = -1;  // the count the like's answer reported
  bool resent = false;         // X-Edge-Resent: the accelerator (or a load balancer) sent it on
                               // after a target that may have acted on it failed to answer
};

struct load_options {
  http_url target;
  double rate = 100;
  double like_fraction = 0.5;
  int connections = 8;
  bool idempotency_keys = true;
  std::vector<std::string> mysfit_ids;
  std::chrono::milliseconds timeout{10000};
};

class load_generator {
 public:
  load_generator(load_options o, std::chrono::steady_clock::time_point epoch);
  ~load_generator();
  void start();
  void stop();  // joins; idempotent
  void set_phase(int phase) { phase_.store(phase); }
  // Everything recorded so far (copy).
  std::vector<request_record> records() const;

 private:
  void run_worker(int index);

  load_options opts_;
  std::chrono::steady_clock::time_point epoch_;
  std::atomic<bool> stop_{false};
  std::atomic<int> phase_{0};
  std::vector<std::thread> workers_;
  mutable std::mutex mu_;
  std::vector<request_record> records_;
};

// Seconds since `epoch`.
double seconds_since(std::chrono::steady_clock::time_point epoch);

}  // namespace mysfits::drill::detail
