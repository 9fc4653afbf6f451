// An in-memory stand-in for the table that understands exactly the requests the app sends
// (Scan pages of 5, GSI Query by KeyConditions, GetItem, PutItem, the like/adopt UpdateItems,
// Create/DescribeTable), records every call, and can be told to fail.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mysfits/ddbclient/client.h"

namespace mysfits::app::testing {

class fake_table : public ddbclient::table_api {
 public:
  struct call_record {
    std::string op;
    boost::json::object body;
    ddbclient::call_context ctx;
  };

  ddbclient::call_result<boost::json::object> call(std::string_view op,
                                                   const boost::json::object& body,
                                                   const ddbclient::call_context& ctx) override;

  // Puts the twelve shipped mysfits in (and marks the table as existing).
  void load_shipped();
  // Every later call fails with this error.
  void fail_with(ddbclient::api_error e) { failure_ = std::move(e); }

  std::vector<call_record> calls;
  std::map<std::string, boost::json::object> items;
  bool exists = false;

 private:
  std::mutex mu_;
  std::optional<ddbclient::api_error> failure_;
};

}  // namespace mysfits::app::testing
