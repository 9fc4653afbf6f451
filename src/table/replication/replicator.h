// replication::replicator: global tables between mysfits-table regions (issue 3, DESIGN.md §2.1).
// Pull replication, full mesh: for every global table, this region pulls from each peer region
// the stream records whose origin is that peer (so nothing echoes back), over the engine's
// internal protocol (X-Amz-Target MysfitsReplication_20261129.<Op>, long-polled), and applies
// them with last-writer-wins on (write timestamp, origin region) in one batch with its progress
// (table_store::apply_remote), so kill -9 at any moment loses nothing and applies nothing twice.
// A new replica back-fills from a snapshot of the region that created it; a replica that fell
// further behind than a peer's stream keeps re-syncs from a snapshot of that peer.
// Replica membership travels with every pull answer (gossip), so regions that missed a
// membership change while cut off learn it when the link returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/ops.h"
#include "mysfits/common/result.h"
#include "storage/table_store.h"

namespace mysfits::table::replication {

namespace json = boost::json;

struct replicator_options {
  // This engine's region; must be in the regions file. Fixed at start.
  std::string region;
  // The regions file (regions.h). Re-read when it changes, so a region's endpoint can move
  // (and tests can cut a link) without a restart.
  std::string regions_file;
  // How long a pull waits at the peer for new changes before answering empty (a change ends it
  // at once). Default: 500 ms (server.h, replication_poll_wait_ms).
  std::chrono::milliseconds poll_wait{500};
  // Tombstones of deleted items are kept this long, then purged. Default: 24 h.
  std::chrono::milliseconds tombstone_retention{std::chrono::hours(24)};
  // Credentials to sign requests to peers with (the engines' shared keys); empty: placeholders.
  std::string access_key_id;
  std::string secret_access_key;
  // Stream records per pull, items per snapshot page. Defaults: 1000, 20000.
  std::size_t pull_limit = 1000;
  std::size_t snapshot_page = 20000;
  // Pause after each applied snapshot page but the last, for tests that need to observe (or
  // kill the engine during) a back-fill in progress. Default: 0.
  std::chrono::milliseconds snapshot_page_delay{0};
};

class replicator final : public api::replication_hooks {
 public:
  // Reads the regions file (errors name the problem) and checks this region is in it.
  [[nodiscard]] static result<std::unique_ptr<replicator>> create(storage::table_store& store,
                                                                  replicator_options options);
  ~replicator() override;  // stops
  replicator(const replicator&) = delete;
  replicator& operator=(const replicator&) = delete;

  // Starts the pullers (one per peer region) and the maintenance thread (back-fills, re-syncs,
  // stream trimming, tombstone purging, regions file reloads).
  void start();
  // Stops and joins every thread; in-flight pulls end within their timeout. Idempotent.
  void stop();

  std::shared_ptr<const storage::table_info> update_replicas(api::op_context& ctx,
                                                             const storage::table_info& t,
                                                             const json::array& updates) override;
  void delete_replica_table(api::op_context& ctx, const storage::table_info& t) override;
  json::object handle_internal(std::string_view operation, const json::object& body) override;

 private:
  struct impl;
  explicit replicator(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace mysfits::table::replication
