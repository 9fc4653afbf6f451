// The core service (mysfits-core): the web page, listing and filtering mysfits through the
// table's GSIs, one mysfit, adoption, and likes (so the page works without the like service).
// Same contract as the workshop's Flask service; see docs/app.md for routes and errors.
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

struct core_options {
  // Region shown on the page (AWS_REGION). Default: "local".
  std::string region = "local";
  // Table holding the mysfits (DDB_TABLE_NAME). Default: MysfitsTable.
  std::string table_name = "MysfitsTable";
  // An adopt or like whose X-Edge-Deadline passed more than this ago is refused (504) instead
  // of applied: the allowance for clock skew (MYSFITS_DEADLINE_TOLERANCE_MS). Default: 50 ms.
  std::chrono::milliseconds deadline_tolerance{50};
};

class core_service {
 public:
  // `table` must outlive the service.
  core_service(core_options options, ddbclient::table_api& table);
  ~core_service();
  // Handles one request, answering through `answer` now or later, from another thread (the
  // routes that read or write the table answer from the threads that make the table calls);
  // `req` must stay valid until then. Never throws for bad input. Thread-safe.
  void handle_async(http::request& req, std::function<void(http::response)> answer);
  // Handles one request and waits for its answer.
  [[nodiscard]] http::response handle(http::request& req);

 private:
  core_options options_;
  ddbclient::table_api& table_;
  // Table calls shared by concurrent requests (one Scan per batch of list requests, one
  // ADD Likes :n per batch of likes): src/app/coalescer.h.
  std::unique_ptr<detail::shared_calls> shared_;
};

}  // namespace mysfits::app
