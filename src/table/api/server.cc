// table::server (include/mysfits/table/server.h): the store, the router, the HTTP server, the
// stream trimmer (retention of DynamoDB Streams records) and the store's GSI back-filler.
#include "mysfits/table/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "api/router.h"
#include "mysfits/common/http_server.h"
#include "replication/replicator.h"
#include "storage/table_store.h"

namespace mysfits::table {

struct server::impl {
  options opts;
  std::unique_ptr<storage::table_store> store;
  std::unique_ptr<replication::replicator> replicator;
  std::unique_ptr<api::router> router;
  std::unique_ptr<http::server> http;
  // The stream trimmer (24-hour retention): a thread that wakes every trim interval.
  std::thread trimmer;
  std::mutex trimmer_mu;
  std::condition_variable trimmer_cv;
  bool stopping = false;

  void trim_streams() {
    auto now_us =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    // (Capped at ~31,700 years so the product cannot overflow.)
    std::uint64_t retention_us =
        std::min<std::uint64_t>(opts.stream_retention_seconds, 1000000000000ull) * 1000000ull;
    if (now_us <= retention_us) return;
    for (const auto& t : store->tables().list()) {
      auto r = store->trim_stream(t->id, now_us - retention_us);
      if (!r)
        spdlog::warn("stream trim of table {} failed: {}", t->name, r.error().message);
      else if (*r > 0)
        spdlog::info("trimmed {} stream records of table {}", *r, t->name);
    }
  }

  void run_trimmer() {
    // Half the retention, between 1 s and 60 s.
    std::uint64_t half_ms = std::min<std::uint64_t>(opts.stream_retention_seconds, 120) * 500;
    auto interval = std::chrono::milliseconds(std::clamp<std::uint64_t>(half_ms, 1000, 60000));
    std::unique_lock lock(trimmer_mu);
    while (!trimmer_cv.wait_for(lock, interval, [this] { return stopping; })) {
      lock.unlock();
      trim_streams();
      lock.lock();
    }
  }
};

server::server(options o) : impl_(std::make_unique<impl>()) { impl_->opts = std::move(o); }

server::~server() { stop(); }

result<void> server::start() {
  const auto& o = impl_->opts;
  if (o.data_dir.empty()) return error::invalid_argument("data_dir is required");
  storage::table_store_options so;
  so.store.path = o.data_dir;
  so.store.sync_writes = o.sync_writes;
  so.store.rocksdb_options = o.rocksdb_options;
  // Writes are fsynced in groups by the store's committer thread; request threads never block
  // in fsync, and the answer to a write waits for the fsync that covers it (router.h).
  so.group_commit = true;
  so.region = o.region;
  so.backfill_page_items = o.index_backfill_page_items;
  so.backfill_page_delay = std::chrono::milliseconds(o.index_backfill_page_delay_ms);
  auto st = storage::table_store::open(std::move(so));
  if (!st) return st.error();
  impl_->store = std::move(*st);
  if (!o.regions_file.empty()) {
    replication::replicator_options rep;
    rep.region = o.region;
    rep.regions_file = o.regions_file;
    rep.poll_wait = std::chrono::milliseconds(o.replication_poll_wait_ms);
    rep.tombstone_retention = std::chrono::seconds(o.tombstone_retention_seconds);
    rep.snapshot_page_delay = std::chrono::milliseconds(o.replica_backfill_page_delay_ms);
    rep.access_key_id = o.access_key_id;
    rep.secret_access_key = o.secret_access_key;
    auto r = replication::replicator::create(*impl_->store, std::move(rep));
    if (!r) {
      impl_->store.reset();
      return r.error();
    }
    impl_->replicator = std::move(*r);
  }
  api::router_options ro;
  ro.region = o.region;
  ro.replication = impl_->replicator.get();
  if (!o.access_key_id.empty() && !o.secret_access_key.empty())
    ro.credentials = api::sigv4_credentials{o.access_key_id, o.secret_access_key};
  impl_->router = std::make_unique<api::router>(*impl_->store, ro);
  http::server_options ho;
  ho.address = o.listen_address;
  ho.port = o.port;
  ho.threads = o.threads;
  ho.body_limit = o.body_limit;
  ho.server_name = "mysfits-table";
  auto* r = impl_->router.get();
  impl_->http = std::make_unique<http::server>(
      ho,
      [r](http::request& req, http::responder respond) {
        r->handle_async(req, std::move(respond));
      },
      [](unsigned status, std::string_view message) {
        http::response res{static_cast<http::bhttp::status>(status), 11};
        res.set(http::bhttp::field::content_type, "application/x-amz-json-1.0");
        std::string type = status == 413 ? "RequestEntityTooLarge" : "ValidationException";
        res.body() = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#" + type +
                     "\",\"message\":\"" + std::string(message) + "\"}";
        res.prepare_payload();
        return res;
      });
  if (auto s = impl_->http->start(); !s) {
    impl_->http.reset();
    impl_->router.reset();
    impl_->replicator.reset();
    impl_->store.reset();
    return s.error();
  }
  impl_->stopping = false;
  impl_->trimmer = std::thread([i = impl_.get()] { i->run_trimmer(); });
  // GSI back-fills cut short by the last stop (or a crash) resume.
  impl_->store->start_backfills();
  if (impl_->replicator) impl_->replicator->start();
  return ok();
}

std::uint16_t server::port() const { return impl_->http ? impl_->http->port() : 0; }

void server::stop() {
  if (!impl_) return;
  // Replication first: its pullers use the store, and long polls served here end at once.
  if (impl_->replicator) impl_->replicator->stop();
  // A back-fill stops after its page in progress (its progress is durable) and resumes at the
  // next start: a stop never waits for a whole back-fill.
  if (impl_->store) impl_->store->stop_backfills();
  if (impl_->trimmer.joinable()) {
    {
      std::lock_guard lock(impl_->trimmer_mu);
      impl_->stopping = true;
    }
    impl_->trimmer_cv.notify_all();
    impl_->trimmer.join();
  }
  if (impl_->http) impl_->http->stop();
  impl_->http.reset();
  impl_->router.reset();
  impl_->replicator.reset();
  impl_->store.reset();  // syncs and releases the last waiting writes, then closes RocksDB
}

}  // namespace mysfits::table
