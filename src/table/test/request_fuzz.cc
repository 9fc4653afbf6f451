// libFuzzer target for the request decoder: arbitrary bytes as the body of each operation,
// dispatched through the router against a temporary store holding one table with a GSI and a
// stream (first bytes 252–255 pick the DynamoDB Streams operations).
// Only DynamoDB error responses (4xx) or successes may come back: never a crash, never a 500.
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "api/router.h"
#include "storage/table_store.h"

namespace {

using namespace mysfits::table;

struct harness {
  std::string path;
  std::unique_ptr<storage::table_store> store;
  std::unique_ptr<api::router> router;
  harness() {
    path = (std::filesystem::temp_directory_path() /
            ("mysfits-request-fuzz-" + std::to_string(::getpid())))
               .string();
    std::filesystem::remove_all(path);
    storage::table_store_options o;
    o.store.path = path;
    o.store.sync_writes = false;
    o.region = "us-west-2";
    store = storage::table_store::open(o).value();
    api::router_options ro;
    ro.log_requests = false;
    router = std::make_unique<api::router>(*store, ro);
    auto r = router->dispatch("CreateTable", R"({"TableName":"Fuzz",
      "AttributeDefinitions":[{"AttributeName":"h","AttributeType":"S"},
        {"AttributeName":"r","AttributeType":"N"},{"AttributeName":"g","AttributeType":"S"}],
      "KeySchema":[{"AttributeName":"h","KeyType":"HASH"},{"AttributeName":"r","KeyType":"RANGE"}],
      "GlobalSecondaryIndexes":[{"IndexName":"ByG","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],
        "Projection":{"ProjectionType":"ALL"}}],
      "StreamSpecification":{"StreamEnabled":true,"StreamViewType":"NEW_AND_OLD_IMAGES"},
      "BillingMode":"PAY_PER_REQUEST"})");
    if (r.first != 200) {
      std::fprintf(stderr, "fuzz harness: CreateTable failed: %s\n", r.second.c_str());
      std::abort();
    }
  }
  ~harness() {
    router.reset();
    store.reset();
    std::filesystem::remove_all(path);
  }
};

const char* const operations[] = {
    "PutItem",     "GetItem",       "UpdateItem",         "DeleteItem",
    "Query",       "Scan",          "BatchGetItem",       "BatchWriteItem",
    "CreateTable", "DescribeTable", "UpdateTable",        "ListTables",
    "TagResource", "UntagResource", "ListTagsOfResource", "DeleteTable"};
const char* const stream_operations[] = {"ListStreams", "DescribeStream", "GetShardIterator",
                                         "GetRecords"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static harness h;
  if (size == 0) return 0;
  // The first byte picks the operation; DeleteTable only ever sees other tables' names
  // because the fixed table "Fuzz" is recreated below if it disappears.
  // (Bytes 252–255 pick a Streams operation; the others keep their earlier meaning, so the
  // corpus stays valid.)
  std::size_t n = sizeof(operations) / sizeof(operations[0]);
  bool streams = data[0] >= 252;
  const char* op = streams ? stream_operations[data[0] - 252] : operations[data[0] % n];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto [status, response] = h.router->dispatch(
      op, body, streams ? api::api_service::dynamodb_streams : api::api_service::dynamodb);
  if (status >= 500) std::abort();
  return 0;
}
