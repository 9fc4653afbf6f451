// api::router: the DynamoDB JSON 1.0 protocol over HTTP, for DynamoDB and DynamoDB Streams. It
// checks the signature, decodes the body, dispatches X-Amz-Target to an operation, and is the ONE
// place that turns api_error (and any escaped exception) into DynamoDB's error body. Also serves
// GET / (health) and /metrics.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/api_error.h"
#include "api/ops.h"
#include "api/sigv4_verify.h"
#include "mysfits/common/http_server.h"
#include "storage/table_store.h"

namespace boost::asio {
class thread_pool;
}

namespace mysfits::table::api {

struct router_options {
  // Region for ARNs. Default: us-west-2.
  std::string region = "us-west-2";
  // Verify SigV4 with these when set. Default: accept any request.
  std::optional<sigv4_credentials> credentials;
  // Write one log line per request. Default: true.
  bool log_requests = true;
  // Global tables (issue 3): ReplicaUpdates and the internal replication protocol
  // (MysfitsReplication_20261129.<Op>). Default: none (the engine serves one region alone).
  replication_hooks* replication = nullptr;
  // Threads that serve the internal replication protocol (with `replication`): a peer's
  // PullChanges long poll waits on one of them, never on a request thread. Default: 8.
  std::size_t internal_threads = 8;
};

// Which API a request's X-Amz-Target names.
enum class api_service { dynamodb, dynamodb_streams };

// X-Amz-Target prefix of the engine's internal replication protocol (issue 3).
inline constexpr std::string_view replication_target_prefix = "MysfitsReplication_20261129.";

class router {
 public:
  router(storage::table_store& store, router_options options);
  ~router();  // detaches the per-table gauges, which outlive it in the process-wide registry
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  // The HTTP handler: answers through `reply`, at once, or — for a write whose durability is
  // deferred to the store's group commit (PutItem, UpdateItem, DeleteItem, BatchWriteItem, and
  // the replication Snapshot) — on the committer thread once the write's log record is fsynced.
  // If that fsync fails, the answer is DynamoDB's 500 InternalServerError instead. The internal
  // replication protocol is served on the router's own threads (internal_threads): a long poll
  // never holds the calling thread.
  using reply_fn = std::function<void(http::response)>;
  void handle_async(http::request& req, reply_fn reply);
  // The same, waiting for the answer.
  [[nodiscard]] http::response handle(http::request& req);

  // Runs one operation on a JSON body; returns (HTTP status, response body). Used by handle()
  // and by the request fuzzer.
  [[nodiscard]] std::pair<unsigned, std::string> dispatch(
      std::string_view operation, std::string_view body,
      api_service service = api_service::dynamodb);

  // Runs one internal replication operation (replication_target_prefix).
  [[nodiscard]] std::pair<unsigned, std::string> dispatch_internal(std::string_view operation,
                                                                   std::string_view body);

  // Registers per-table item/byte gauges for every table (call after tables change).
  void register_table_metrics();

 private:
  storage::table_store& store_;
  router_options options_;
  op_context ctx_;
  // What the per-table gauges read; cleared when the router goes away.
  struct gauge_source {
    std::mutex mu;
    storage::table_store* store = nullptr;
  };
  std::shared_ptr<gauge_source> gauges_;
  // Serves the internal replication protocol (with options_.replication); joined first on
  // destruction.
  std::unique_ptr<boost::asio::thread_pool> internal_pool_;

  void serve_internal(http::request& req, const std::string& operation, reply_fn reply);
};

// The {"__type", "message"} body of an error.
[[nodiscard]] std::string error_body(const api_error& e);

}  // namespace mysfits::table::api
