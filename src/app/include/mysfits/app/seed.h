// `mysfits-core seed`: creates the mysfits table with its two GSIs when missing and loads the
// twelve mysfits shipped in the binary. Idempotent: existing items (and their likes) are kept.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "mysfits/ddbclient/client.h"

namespace mysfits::app {

struct seed_options {
  // Table to create and fill. Default: MysfitsTable.
  std::string table_name = "MysfitsTable";
  // How long to wait for a new table to become ACTIVE. Default: 60 s.
  std::chrono::milliseconds wait_timeout{60000};
  // Pause between DescribeTable polls; injectable for tests. Default: sleep 200 ms.
  std::function<void()> pause;
};

struct seed_report {
  bool created_table = false;
  int inserted = 0;  // items written now
  int existing = 0;  // items that were already there
};

// The CreateTable request for the mysfits table (hash MysfitId; GSIs GoodEvilIndex and
// LawChaosIndex, projection ALL; on-demand billing).
[[nodiscard]] boost::json::object create_table_request(const std::string& table_name);

[[nodiscard]] ddbclient::call_result<seed_report> seed(ddbclient::table_api& table,
                                                       const seed_options& options);

}  // namespace mysfits::app
