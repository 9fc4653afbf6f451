// Group commit on one thread (committer.h).
#include "storage/committer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <utility>

#include "mysfits/common/metrics.h"

namespace mysfits::table::storage {

namespace {

struct commit_metrics {
  metrics::counter& syncs;
  metrics::counter& failures;
  metrics::histogram& sync_seconds;
  metrics::histogram& group_size;
};

commit_metrics& the_metrics() {
  auto& reg = metrics::default_registry();
  static commit_metrics m{
      reg.get_counter("mysfits_table_wal_syncs_total", "fsyncs of the write-ahead log"),
      reg.get_counter("mysfits_table_wal_sync_failures_total",
                      "Failed fsyncs of the write-ahead log (their writes got a 500)"),
      reg.get_histogram("mysfits_table_wal_sync_seconds", "Duration of one write-ahead log fsync"),
      reg.get_histogram("mysfits_table_group_commit_size",
                        "Waiting writes (and sync requests) released by one fsync", {},
                        {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}),
  };
  return m;
}

}  // namespace

committer::committer(sync_function sync) : sync_(std::move(sync)) {}

committer::~committer() { stop(); }

void committer::start() {
  std::lock_guard lock(mu_);
  if (running_ || stopping_) return;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void committer::enqueue(completion done) {
  {
    std::lock_guard lock(mu_);
    if (running_) {
      queue_.push_back(std::move(done));
      if (queue_.size() == 1) cv_.notify_one();
      return;
    }
  }
  std::vector<completion> one;
  one.push_back(std::move(done));
  sync_and_complete(one);
}

void committer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t committer::syncs() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

void committer::run() {
  std::vector<completion> batch;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) {  // stopping, nothing left: later enqueues sync on their own thread
      running_ = false;
      break;
    }
    batch.swap(queue_);
    lock.unlock();
    sync_and_complete(batch);
    batch.clear();
    lock.lock();
  }
}

void committer::sync_and_complete(std::vector<completion>& batch) {
  auto& m = the_metrics();
  auto start = std::chrono::steady_clock::now();
  result<void> synced = sync_();
  m.sync_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  m.syncs.inc();
  m.group_size.observe(static_cast<double>(batch.size()));
  {
    std::lock_guard lock(mu_);
    ++syncs_;
  }
  if (!synced) {
    m.failures.inc();
    spdlog::error("write-ahead log sync failed: {}; {} waiting writes are not acknowledged",
                  synced.error().message, batch.size());
  }
  for (auto& done : batch) {
    if (!done) continue;
    try {
      done(synced);
    } catch (const std::exception& e) {
      spdlog::error("commit completion threw: {}", e.what());
    }
  }
}

}  // namespace mysfits::table::storage
