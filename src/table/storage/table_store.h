// storage::table_store: items of every table on one RocksDB store. An item write — the item,
// its secondary-index entries, the table's item-count/size deltas and (when the table has a
// stream) its stream record — commits in ONE rocksdb::WriteBatch, under a striped per-item
// mutex so read-modify-write (conditions, UpdateItem) is atomic. Reads use iterators (implicit
// snapshots). Callers pass primary keys already encoded (primary_key_bytes below).
// For global tables (issue 3): every item record carries its write timestamp and origin region
// (keys.h item_record), ready for last-writer-wins; stream sequence numbers are taken under the
// item's lock, so they are in commit order per item, but across items a higher number can commit
// a moment before a lower one — a stream reader must not advance past an in-flight number:
// read_stream stops at stream_readable_through, below which every number has committed (or
// failed, leaving a gap readers skip).
#pragma once

#include <array>
#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mysfits/common/result.h"
#include "storage/catalog.h"
#include "storage/committer.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace mysfits::table::storage {

struct table_store_options {
  // With store.sync_writes and group_commit, item writes and replication applies are written
  // without an fsync, and a committer thread (committer.h) fsyncs the write-ahead log for every
  // write waiting in after_durable() at once.
  store_options store;
  // Group commit (see above); without it, every write is synced on its own thread (when
  // store.sync_writes). Default: false (the server turns it on).
  bool group_commit = false;
  // Replaces the write-ahead log's fsync in group commit; tests inject slow or failing syncs.
  // Default: store::sync_wal.
  std::function<result<void>()> wal_sync;
  // This replica's region, stored with every write as its origin (issue 3). Default: empty.
  std::string region;
  // Clock for write timestamps, microseconds since the epoch; tests inject one.
  // Default: the system clock.
  std::function<std::uint64_t()> clock_us;
  // Back-fill of a GSI added by UpdateTable (see "Index back-fill" below): items read per page
  // (each page commits in one batch with its progress). Default: 1000.
  std::size_t backfill_page_items = 1000;
  // Pause of the background back-fill after each page, for tests that need a back-fill in
  // progress (mysfits-table --index-backfill-page-delay-ms). Default: 0.
  std::chrono::milliseconds backfill_page_delay{0};
  // Wait before the background back-fill retries after a failed page (e.g. a full disk).
  // Default: 5 s.
  std::chrono::milliseconds backfill_retry_delay{5000};
};

// "S", "N" or "B".
[[nodiscard]] std::string_view key_type_name(key_type t);

// Encoded primary key of (hash, range) for a table or an index: each part is order-preserving
// and prefix-free, so the items of one hash key are contiguous and ordered by range key.
[[nodiscard]] std::string key_part_bytes(const boost::json::value& v);
[[nodiscard]] std::string primary_key_bytes(const boost::json::object& item, const key_schema& k);
// The index key of `item` for index `i`, or nullopt if the item lacks one of its key attributes
// (then the item simply is not in that index, as in DynamoDB).
[[nodiscard]] std::optional<std::string> index_key_bytes(const boost::json::object& item,
                                                         const key_schema& k);
// The copy of `item` an index stores (ALL / KEYS_ONLY / INCLUDE).
[[nodiscard]] boost::json::object project_for_index(const boost::json::object& item,
                                                    const table_info& t, const index_info& i);

// What a write decided after seeing the current item.
struct write_decision {
  enum class action { none, put, del };
  write_decision() = default;
  write_decision(action a, boost::json::object i = {}, boost::json::object deltas = {})
      : what(a), item(std::move(i)), counter_deltas(std::move(deltas)) {}
  action what = action::none;
  boost::json::object item;  // for put
  // Counter increments of this write (attribute → {"N": delta}) on a counter-merge table; the
  // stream record carries them so peers add them instead of overwriting (issue 7).
  boost::json::object counter_deltas;
  // item_size(item) for a put, when the decider computed it (to check the 400 KB limit);
  // 0: write_item computes it.
  std::size_t item_size = 0;
};

struct write_outcome {
  // The item before the write (absent when there was none, or when the decider consumed it).
  std::optional<boost::json::object> old_item;
  std::optional<boost::json::object> new_item;  // after the write (absent after a delete)
  // item_size of the item before and after the write (0: none); kept also when the decider
  // consumed the old item.
  std::size_t old_size = 0;
  std::size_t new_size = 0;
};

// One stream record as stored: {"seq", "ts" (write timestamp, µs), "origin" (region), "label"
// (the table's stream label when written: which stream it belongs to), "event" (INSERT / MODIFY /
// REMOVE), "keys", "old" (item before, if any), "new" (item after, if any)}. Sequence numbers are
// per table, shared by its successive streams.
struct stream_record {
  std::uint64_t sequence = 0;
  boost::json::object body;
};

// A change pulled from another replica (issue 3): the item after the change (or just its keys
// for a delete) with the write timestamp and origin region it had where it was written.
struct remote_change {
  std::uint64_t timestamp_us = 0;
  std::string origin;
  bool is_delete = false;
  boost::json::object item;
  // Counter increments (attribute → {"N": delta}) the change made, for counter-merge tables.
  boost::json::object deltas;
  // `item` as json::serialize wrote it at the origin (what the peer stores), when the caller
  // has it: stored as it is when the change wins, instead of serializing `item` again. The
  // caller keeps the bytes alive. Empty: serialized here.
  std::string_view item_json;
};

struct apply_stats {
  std::size_t applied = 0;     // changes that won last-writer-wins and were written
  std::size_t superseded = 0;  // changes older than (or equal to) what the replica holds
};

// Last-writer-wins order of two versions of an item: true when (ts, origin) is later than
// (other_ts, other_origin). The region name breaks timestamp ties deterministically, so every
// replica picks the same winner. Equal pairs are the same write (not newer).
[[nodiscard]] inline bool is_newer(std::uint64_t ts, std::string_view origin,
                                   std::uint64_t other_ts, std::string_view other_origin) {
  return ts != other_ts ? ts > other_ts : origin > other_origin;
}

struct table_stats {
  std::int64_t item_count = 0;
  std::int64_t size_bytes = 0;
  std::int64_t stream_sequence = 0;  // last stream record written
};

class table_store {
 public:
  [[nodiscard]] static result<std::unique_ptr<table_store>> open(table_store_options options);
  ~table_store();

  catalog& tables() { return catalog_; }
  store& db() { return *store_; }
  const std::string& region() const { return options_.region; }

  [[nodiscard]] result<std::optional<boost::json::object>> get_item(const table_info& t,
                                                                    std::string_view pk);
  // The visible item's JSON text as stored (json::serialize's output), unparsed: nullopt for
  // a missing or deleted item. For answers that return the whole item.
  [[nodiscard]] result<std::optional<std::string>> get_item_text(const table_info& t,
                                                                 std::string_view pk);

  // Reads the current item under its lock, lets `decide` choose (it may throw, e.g. a failed
  // condition — nothing is written then), and commits the item, its index entries, the stats
  // and the stream record in one batch. `t` is re-read from the catalog under the table lock so
  // an index added meanwhile is maintained; a table deleted meanwhile gives not_found.
  // With `consume_old`, the stored item `decide` gets is its own to change or move into a put
  // (an update builds the new item from it without a copy); the outcome then has no old_item
  // (old_size still says its size). Such a decider decides put or none, never del. Without it,
  // `decide` must leave the item as it is.
  using decider = std::function<write_decision(boost::json::object* old_item)>;
  [[nodiscard]] result<write_outcome> write_item(const table_info& t, std::string_view pk,
                                                 const decider& decide, bool consume_old = false);

  // Items in [lower, upper) of the table's key space (bounds are primary-key bytes; empty upper
  // means the end of the table). The visitor gets the primary-key bytes and the item, whose
  // values are allocated from `sp` (default: the heap): a reader that answers with the items
  // decodes them straight into its response's arena.
  // `keep`, when given, sees each key (the bytes the visitor would get) first: an item it refuses
  // is skipped without being read (Scan's parallel segments).
  using item_visitor = std::function<bool(std::string_view pk, boost::json::object& item)>;
  using key_filter = std::function<bool(std::string_view key)>;
  [[nodiscard]] result<void> scan_items(const table_info& t, std::string_view lower,
                                        std::string_view upper, bool reverse,
                                        const item_visitor& visit, boost::json::storage_ptr sp = {},
                                        const key_filter& keep = {});
  // The same over an index's key space (index key bytes + primary key bytes).
  [[nodiscard]] result<void> scan_index(const table_info& t, const index_info& i,
                                        std::string_view lower, std::string_view upper,
                                        bool reverse, const item_visitor& visit,
                                        boost::json::storage_ptr sp = {},
                                        const key_filter& keep = {});

  // The same two scans handing over each item's stored JSON text (json::serialize's output)
  // instead of a parsed object, for a reader that answers with whole items as they are stored.
  using item_text_visitor = std::function<bool(std::string_view pk, std::string_view item_json)>;
  [[nodiscard]] result<void> scan_item_texts(const table_info& t, std::string_view lower,
                                             std::string_view upper, bool reverse,
                                             const item_text_visitor& visit,
                                             const key_filter& keep = {});
  [[nodiscard]] result<void> scan_index_texts(const table_info& t, const index_info& i,
                                              std::string_view lower, std::string_view upper,
                                              bool reverse, const item_text_visitor& visit,
                                              const key_filter& keep = {});

  // --- Index back-fill (UpdateTable adding a GSI) ---
  // An index that modify_table adds is `backfilling` (catalog.h): the existing items are indexed
  // in pages, in primary-key order, each page with the back-fill's progress (the last primary
  // key done, keys.h backfill_key) in ONE batch, under the table's exclusive write lock for the
  // page alone. Item writes (which hold the lock shared) maintain a back-filling index only for
  // items at or below that progress; the items beyond it are left to the pages, which read
  // their state when they reach them. So writes go on during a back-fill, a crash resumes it
  // where its last page committed, and the finished index and its counters are what indexing
  // every item at once would give. The last page clears `backfilling` in the same batch as its
  // entries (a synced catalog write).
  //
  // Indexes one page of a back-filling index (options.backfill_page_items items); true once the
  // index is complete (also when it is not back-filling). not_found when the table or the index
  // is gone (deleted meanwhile).
  [[nodiscard]] result<bool> backfill_page(const std::string& table_name, std::uint32_t index_id);
  // The background back-filler: a thread that runs the pages of every back-filling index (those
  // of earlier runs first: a back-fill cut short by a crash or a stop resumes), pausing
  // options.backfill_page_delay after each, retrying a failed one after
  // options.backfill_retry_delay. stop_backfills() returns after the page in progress (the
  // back-fill resumes at the next start); the destructor calls it. wake_backfills() tells it a
  // new back-fill is waiting (modify_table calls it).
  void start_backfills();
  void stop_backfills();
  void wake_backfills();

  // --- Durability (group commit) ---
  // True when writes are made durable by the committer: a write must then not be acknowledged
  // before after_durable() runs its completion.
  [[nodiscard]] bool defers_sync() const { return committer_ != nullptr; }
  // Runs `done` once every write that returned before this call is durable — on the committer
  // thread, after the next WAL fsync, with its outcome — or at once with ok when writes are not
  // deferred. An empty `done` just asks for a sync.
  void after_durable(committer::completion done);
  // The highest stream sequence number at or below which every record has committed.
  [[nodiscard]] std::uint64_t stream_readable_through(std::uint64_t table_id);
  // The highest stream sequence number at or below which every record is durable: committed
  // and fsynced (= stream_readable_through when writes are not deferred). Replication serves
  // peers only this far, so a peer never holds a change its origin could lose in a power cut.
  [[nodiscard]] std::uint64_t stream_durable_through(std::uint64_t table_id);
  // Up to `limit` stream records with sequence numbers above `after`, in order, never beyond
  // stream_readable_through nor `through` (numbers of failed writes are gaps).
  [[nodiscard]] result<std::vector<stream_record>> read_stream(
      std::uint64_t table_id, std::uint64_t after, std::size_t limit,
      std::uint64_t through = std::numeric_limits<std::uint64_t>::max());
  // The same records without parsing them (replication serves them): each record's parts as
  // stored (keys.h stream_record_view; a legacy JSON record is converted), valid during the
  // call. Returns the sequence number of the last record visited (`after` when none).
  using raw_stream_visitor = std::function<void(const stream_record_view& r)>;
  [[nodiscard]] result<std::uint64_t> read_stream_raw(std::uint64_t table_id, std::uint64_t after,
                                                      std::size_t limit, std::uint64_t through,
                                                      const raw_stream_visitor& visit);
  // The lowest sequence number still kept (0 when the stream holds no record).
  [[nodiscard]] result<std::uint64_t> stream_first_sequence(std::uint64_t table_id);
  // Deletes the records written before `cutoff_us` (write timestamp); returns how many.
  [[nodiscard]] result<std::size_t> trim_stream(std::uint64_t table_id, std::uint64_t cutoff_us);

  // --- Global tables (issue 3) ---
  // Applies changes pulled from a peer, in order, with last-writer-wins on (timestamp, origin):
  // a change is written (item or tombstone, index entries, stats and — when `write_stream` and
  // the table has a stream — a local stream record whose origin stays the remote region) only if
  // it is newer than the stored version, tombstones included. The `progress` entries (peer
  // region → last applied sequence of its stream) and, when `change_description` is given, the
  // table's description as it makes it (as modify_table does; that holds the table's exclusive
  // write lock) commit in the SAME batch, so a crash never loses nor repeats an applied change.
  // Holds the item locks of the batch's items for its duration. With `sync` false (and no
  // description change) the batch is not synced to the disk: it survives kill -9, not a power
  // loss.
  using description_change = std::function<bool(table_info&)>;
  [[nodiscard]] result<apply_stats> apply_remote(
      const std::string& table_name, std::uint64_t table_id,
      const std::vector<remote_change>& changes,
      const std::vector<std::pair<std::string, std::uint64_t>>& progress, bool write_stream,
      const description_change& change_description = {}, bool sync = true);
  // The last sequence number of `peer_region`'s stream applied to this table (0: none).
  [[nodiscard]] result<std::uint64_t> progress(std::uint64_t table_id,
                                               std::string_view peer_region);
  // Stored item records (tombstones included) after primary key `after` (exclusive; empty =
  // from the start), in key order, up to `limit`. For snapshots a peer back-fills from.
  using record_visitor = std::function<bool(std::string_view pk, const item_record& r)>;
  [[nodiscard]] result<void> scan_item_records(std::uint64_t table_id, std::string_view after,
                                               const record_visitor& visit);
  // The same without decoding: the stored bytes (encode_item_record) of each record, for
  // compact snapshot pages.
  using raw_record_visitor = std::function<bool(std::string_view pk, std::string_view record)>;
  [[nodiscard]] result<void> scan_raw_item_records(std::uint64_t table_id, std::string_view after,
                                                   const raw_record_visitor& visit);
  // One page of a peer's snapshot (back-fill of a new replica, re-sync of one that fell behind
  // a peer's stream). The page holds every record the peer had with a primary key in
  // (after, through] (`through` empty: to the end of the table); each is applied with
  // last-writer-wins as apply_remote does, without stream records. The local items of that key
  // range are read with one range scan (nothing is looked up item by item, and a range a new
  // replica does not hold yet costs one seek). A local item the page lacks is removed when
  // `remove_absent` says so (called under the item's lock; null: kept) — how a re-sync drops the
  // items a peer deleted after its tombstone was purged. With `bulk` the batch skips the
  // write-ahead log (store::write_without_wal): the caller calls flush() before committing the
  // snapshot's progress, and starts the copy over after a crash.
  struct snapshot_item {
    std::string pk;        // primary_key_bytes of record.item
    item_record record;    // as the peer stores it
    std::string_view raw;  // encode_item_record(record), stored as is when it wins; the
                           // caller keeps the bytes alive
  };
  using absent_decider = std::function<bool(std::string_view pk, const item_record& local)>;
  struct snapshot_page_options {
    std::string_view after;
    std::string_view through;
    const absent_decider* remove_absent = nullptr;
    // A re-sync: a page item written by this region that this replica holds no record of at
    // all is skipped — this region had it and deleted it (tombstone purged), so the peer's copy
    // is stale. (Not for a back-fill: a new replica may find writes of an earlier one.)
    bool skip_own_missing = false;
    bool bulk = false;
  };
  struct snapshot_page_stats {
    std::size_t applied = 0;
    std::size_t superseded = 0;
    std::size_t removed = 0;
  };
  [[nodiscard]] result<snapshot_page_stats> apply_snapshot_page(
      const std::string& table_name, std::uint64_t table_id,
      const std::vector<snapshot_item>& items, const snapshot_page_options& options);
  // Makes every bulk page written so far durable (store::flush).
  [[nodiscard]] result<void> flush() { return store_->flush(); }
  // Adds to `pks` the primary keys of this region's own writes among the stream records above
  // `after_seq` — every committed one, also past stream_readable_through — and returns the
  // sequence through which every record has been seen (the next call's `after_seq`). nullopt
  // when records above `after_seq` were already trimmed (those writes cannot be known).
  [[nodiscard]] result<std::optional<std::uint64_t>> local_write_keys(const table_info& t,
                                                                      std::uint64_t after_seq,
                                                                      std::set<std::string>& pks);
  // Removes tombstones written before `cutoff_us`; returns how many.
  [[nodiscard]] result<std::size_t> purge_tombstones(std::uint64_t table_id,
                                                     std::uint64_t cutoff_us);
  // Changes a table's description. `change` edits a copy of the stored description, read under
  // the table's exclusive write lock, which every description change holds: two changes (a
  // client's UpdateTable and the replicator's, say) each see the other's result and never lose
  // one another, and no item write straddles the change (e.g. turning the stream on). `change`
  // returns false to leave the table as it is (the stored description is returned); what it
  // throws propagates, with nothing stored. It must not call back into this store's table
  // locks. The back-fill state of the indexes is the store's: an index the copy keeps has the
  // `backfilling` flag it has now, an index it adds (an id not in the stored description) is
  // back-filled (above), and the entries, counters and back-fill progress of an index it drops
  // are dropped in the same batch. not_found when `table_name` names no table.
  [[nodiscard]] result<std::shared_ptr<const table_info>> modify_table(
      std::string_view table_name, const description_change& change);
  // A counter bumped after every committed stream record; wait_for_stream_write blocks until it
  // moves past `seen` or `deadline` passes (long-polling replication pulls).
  [[nodiscard]] std::uint64_t stream_generation();
  void wait_for_stream_write(std::uint64_t seen, std::chrono::steady_clock::time_point deadline);
  // Wakes every waiter (shutdown).
  void wake_stream_waiters();
  // Hybrid logical clock: a write timestamp at least the wall clock, above every timestamp this
  // replica has issued or seen from a peer, and at least `floor`.
  [[nodiscard]] std::uint64_t next_timestamp(std::uint64_t floor = 0);
  void observe_timestamp(std::uint64_t ts);

  [[nodiscard]] table_stats stats(std::uint64_t table_id);
  // Item count and size of one index, read from the store.
  [[nodiscard]] table_stats index_stats(std::uint64_t table_id, std::uint32_t index_id);
  // Deletes a table: waits for its in-flight item writes, then removes its description and all
  // its data in one batch, so no write can land in the dropped ranges afterwards.
  [[nodiscard]] result<std::shared_ptr<const table_info>> delete_table(std::string_view name);

 private:
  struct table_state {
    // Shared by item writes; exclusive for a change of the description and a back-fill page.
    // Take it with shared_writes() / exclusive_writes(): an exclusive taker holds
    // exclusive_gate while it waits, and writers arriving then queue on the gate, so a steady
    // stream of writers cannot starve it (the shared mutex prefers readers).
    std::shared_mutex writes;
    std::mutex exclusive_gate;
    std::atomic<int> exclusive_waiting{0};
    std::atomic<std::int64_t> item_count{0};
    std::atomic<std::int64_t> size_bytes{0};
    std::atomic<std::uint64_t> stream_sequence{0};
    std::mutex in_flight_mu;
    std::set<std::uint64_t> in_flight;              // stream numbers taken, batch not yet written
    std::atomic<std::uint64_t> durable_through{0};  // stream numbers synced (group commit)
    // Back-filling index id → the last primary key its back-fill has indexed (absent: none
    // yet). Changed only under `writes` held exclusively; item writes read it under the shared
    // lock.
    std::map<std::uint32_t, std::string> backfilled;
    // A snapshot page was written without the log (apply_snapshot_page bulk) since the last
    // back-fill page: the next one flushes first.
    std::atomic<bool> bulk_unflushed{false};
    std::uint64_t readable_through();
  };
  table_store(table_store_options options, std::unique_ptr<store> s);
  [[nodiscard]] result<void> load_state();
  std::shared_ptr<table_state> state(std::uint64_t table_id);
  std::mutex& stripe(std::uint64_t table_id, std::string_view pk);
  void notify_stream_write();
  // Writes an item-path batch: unsynced under group commit, else per store_options.
  [[nodiscard]] result<void> write_deferred(write_batch& b);
  // The committer's sync: fsyncs the WAL and advances every table's durable_through.
  [[nodiscard]] result<void> sync_and_mark_durable();
  // The back-fill progress of table `t`'s back-filling indexes, for stage_item (null when no
  // index of `t` is back-filling). Called with st.writes held.
  [[nodiscard]] static std::shared_lock<std::shared_mutex> shared_writes(table_state& st);
  class exclusive_writes {
   public:
    explicit exclusive_writes(table_state& st);
    ~exclusive_writes();
    exclusive_writes(const exclusive_writes&) = delete;
    exclusive_writes& operator=(const exclusive_writes&) = delete;

   private:
    table_state& st_;
  };
  static const std::map<std::uint32_t, std::string>* backfill_progress(const table_state& st,
                                                                       const table_info& t);
  void run_backfills();

  std::atomic<std::uint64_t> hlc_{0};
  std::mutex stream_wait_mu_;
  std::condition_variable stream_wait_cv_;
  std::uint64_t stream_generation_ = 0;

  table_store_options options_;
  std::unique_ptr<store> store_;
  catalog catalog_;
  std::mutex states_mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<table_state>> states_;
  std::array<std::mutex, 1024> stripes_;
  std::unique_ptr<committer> committer_;  // group commit; stopped before store_ closes
  // The background back-filler (start_backfills).
  std::thread backfiller_;
  std::mutex backfill_mu_;
  std::condition_variable backfill_cv_;
  bool backfill_stop_ = false;
  bool backfill_wake_ = true;
};

}  // namespace mysfits::table::storage
