// mysfits::table::server: the DynamoDB-compatible table engine served over HTTP (DESIGN.md §2.1).
// `mysfits-table serve` is a thin main over it; tests embed it directly. Everything else of the
// engine (storage, expressions, operations) is private to the library.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mysfits/common/result.h"

namespace mysfits::table {

struct options {
  // Address to listen on. Default: 127.0.0.1. Fixed at start.
  std::string listen_address = "127.0.0.1";
  // TCP port; 0 picks a free one (read it back with server::port()). Default: 8000.
  std::uint16_t port = 8000;
  // Directory of the RocksDB database (created if missing). Required. Fixed at start.
  std::string data_dir;
  // This replica's region: used in ARNs and stored as the origin of writes. Default: us-west-2.
  std::string region = "us-west-2";
  // When both are set, requests must carry a valid SigV4 signature made with them; when empty,
  // any signature (or none) is accepted. Default: empty.
  std::string access_key_id;
  std::string secret_access_key;
  // Threads serving requests; each runs the connections handed to it. A write never blocks its
  // thread in fsync (group commit, see sync_writes), and replication long polls wait on the
  // router's own threads (router_options::internal_threads), not on these. Default: 8.
  std::size_t threads = 8;
  // fsync the write-ahead log before acknowledging a write, so an acknowledged write survives
  // power loss as well as kill -9. The fsync is a group commit: the request thread writes
  // without it and goes on; one committer thread fsyncs for every write waiting and then
  // releases their answers (a failed fsync answers them 500 InternalServerError). Readers may
  // see a write before it is acknowledged (docs/table.md "Durability"). With false, the WAL is
  // still written (to the OS page cache) before the ack, which survives kill -9 but not a
  // machine crash. Default: true.
  bool sync_writes = true;
  // RocksDB options over the engine's own, as RocksDB's option string ("name=value;...",
  // e.g. "write_buffer_size=16777216;allow_concurrent_memtable_write=false"), for tuning.
  // Unknown names or bad values fail start() with RocksDB's message. Default: empty.
  std::string rocksdb_options;
  // How long stream records are kept (DynamoDB keeps them 24 hours): a background trimmer
  // deletes older ones every min(60 s, half the retention), at least once a second. Reading a
  // position older than that gives TrimmedDataAccessException. Default: 86400. Fixed at start.
  std::uint64_t stream_retention_seconds = 86400;
  // Largest request body in bytes (larger ones are refused unread). Default: 16 MiB.
  std::uint64_t body_limit = 16u * 1024 * 1024;
  // Global tables (issue 3): a JSON file from region name to endpoint URL of every region's
  // engine, this one's included. Empty: no replication (ReplicaUpdates are refused). Re-read
  // when it changes. Default: empty.
  std::string regions_file;
  // How long a replication pull waits at a peer for new changes (a change ends the wait at
  // once). The wait holds one of the peer's replication threads (router_options::
  // internal_threads), never a request thread; a new global table or replica joins a peer's
  // pulls when its current wait ends. Longer waits cost an idle region less CPU (each pull is a
  // signed round trip). Default: 500 ms.
  std::uint32_t replication_poll_wait_ms = 500;
  // Tombstones of a global table's deleted items are kept this long. Default: 86400 s.
  std::uint64_t tombstone_retention_seconds = 86400;
  // Back-fill of a GSI added by UpdateTable (docs/table.md "Adding a GSI"): items indexed per
  // page (one batch, with the back-fill's progress). Default: 1000.
  std::size_t index_backfill_page_items = 1000;
  // Pause after each back-fill page, for tests that need to observe (or kill the engine
  // during) a back-fill in progress. Default: 0.
  std::uint32_t index_backfill_page_delay_ms = 0;
  // Pause after each snapshot page a new replica (or one re-syncing) applies but the last, for
  // tests that need to observe (or kill the engine during) a replica's back-fill. Default: 0.
  std::uint32_t replica_backfill_page_delay_ms = 0;
};

class server {
 public:
  explicit server(options o);
  ~server();  // stops if running
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Opens the store and starts serving. Fails if the data dir cannot be opened or the address
  // cannot be bound.
  [[nodiscard]] result<void> start();
  // The bound port (after start()).
  [[nodiscard]] std::uint16_t port() const;
  // Finishes in-flight requests, stops serving and closes the store. Idempotent.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace mysfits::table
