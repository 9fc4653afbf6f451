// The like service (mysfits-like): a health check and POST /mysfits/{id}/like, which adds one
// to the mysfit's Likes atomically. CHAOSMODE=on makes it fail on purpose (about 30 % 500s and
// 30 % 404s) for failover drills, as the workshop's original does.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "mysfits/common/http_server.h"
#include "mysfits/ddbclient/client.h"

namespace mysfits::app {

namespace detail {
class shared_calls;
}

struct like_options {
  // Table holding the mysfits (DDB_TABLE_NAME). Default: MysfitsTable.
  std::string table_name = "MysfitsTable";
  // CHAOSMODE=on. Default: off.
  bool chaos_mode = false;
  // A like whose X-Edge-Deadline passed more than this ago is refused (504) instead of applied:
  // the allowance for clock skew (MYSFITS_DEADLINE_TOLERANCE_MS). Default: 50 ms.
  std::chrono::milliseconds deadline_tolerance{50};
  // Uniform random in [0, 1) deciding chaos outcomes; injectable for tests.
  // Default: a thread-local Mersenne Twister.
  std::function<double()> random;
};

class like_service {
 public:
  // `table` must outlive the service.
  like_service(like_options options, ddbclient::table_api& table);
  ~like_service();
  // Handles one request, answering through `answer` now or later, from another thread (the
  // routes that read or write the table answer from the threads that make the table calls);
  // `req` must stay valid until then. Never throws for bad input. Thread-safe.
  void handle_async(http::request& req, std::function<void(http::response)> answer);
  // Handles one request and waits for its answer.
  [[nodiscard]] http::response handle(http::request& req);

 private:
  like_options options_;
  ddbclient::table_api& table_;
  // Table calls shared by concurrent requests (one Scan per batch of list requests, one
  // ADD Likes :n per batch of likes): src/app/coalescer.h.
  std::unique_ptr<detail::shared_calls> shared_;
};

}  // namespace mysfits::app
