// The core service (mysfits-core): the web page, listing and filtering mysfits through the
// table's GSIs, one mysfit, adoption, and likes (so the page works without the like service).
// Same contract as the workshop's Flask service; see docs/app.md for routes and errors.
#pragma once

#include <chrono>
#include <string>

#include "mysfits/common/http_server.h"
#include "mysfits/ddbclient/client.h"

namespace mysfits::app {

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
  // Handles one request; never throws for bad input. Thread-safe.
  [[nodiscard]] http::response handle(http::request& req);

 private:
  core_options options_;
  ddbclient::table_api& table_;
};

}  // namespace mysfits::app
