// storage::committer: asynchronous group commit. Writers apply their batch without an fsync
// (store::write_unsynced), then hand what must wait for durability — typically the answer to a
// client — to enqueue() and return at once. One committer thread loops: it takes everything
// enqueued so far, calls the sync function ONCE (an fsync of the write-ahead log), then runs
// every completion with the sync's outcome. Everything enqueued while a sync runs waits for the
// next one, so one fsync covers every write that arrived during the previous one, and no
// request thread ever blocks in fsync.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::table::storage {

class committer {
 public:
  // Makes every write that returned before it was called durable (or fails).
  using sync_function = std::function<result<void>()>;
  // Runs on the committer thread after the sync that covers it, with that sync's outcome.
  using completion = std::function<void(const result<void>& synced)>;

  explicit committer(sync_function sync);
  ~committer();  // stop()
  committer(const committer&) = delete;
  committer& operator=(const committer&) = delete;

  // Starts the committer thread.
  void start();
  // Runs `done` after a sync that started after this call: call it once the write's batch was
  // written. An empty `done` just asks for a sync. Before start() or after stop(), syncs on the
  // calling thread and runs `done` there.
  void enqueue(completion done);
  // Syncs and completes everything enqueued, then joins the thread. Idempotent.
  void stop();

  // Syncs done so far (for tests and metrics).
  [[nodiscard]] std::uint64_t syncs() const;

 private:
  void run();
  void sync_and_complete(std::vector<completion>& batch);

  sync_function sync_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<completion> queue_;
  bool running_ = false;
  bool stopping_ = false;
  std::uint64_t syncs_ = 0;
  std::thread thread_;
};

}  // namespace mysfits::table::storage
