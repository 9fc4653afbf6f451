// The like service (mysfits-like): a health check and POST /mysfits/{id}/like, which adds one
// to the mysfit's Likes atomically. CHAOSMODE=on makes it fail on purpose (about 30 % 500s and
// 30 % 404s) for failover drills, as the workshop's original does.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "mysfits/common/http_server.h"
#include "mysfits/ddbclient/client.h"

namespace mysfits::app {

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
  // Handles one request; never throws for bad input. Thread-safe.
  [[nodiscard]] http::response handle(http::request& req);

 private:
  like_options options_;
  ddbclient::table_api& table_;
};

}  // namespace mysfits::app
