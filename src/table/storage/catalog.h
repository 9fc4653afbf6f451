// storage::catalog: table descriptions (keys, indexes, billing, tags, streams), kept in RocksDB
// under the 'c' key space and cached in memory as immutable snapshots. A change writes the new
// description and replaces the cached pointer (copy on write), so readers never lock for long.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "mysfits/common/result.h"
#include "storage/store.h"
#include "types/key_codec.h"

namespace mysfits::table::storage {

struct key_schema {
  std::string hash_name;
  key_type hash_type = key_type::s;
  std::optional<std::string> range_name;
  std::optional<key_type> range_type;
};

enum class projection_type { all, keys_only, include };

struct index_info {
  std::string name;
  std::uint32_t id = 0;  // key-space id, unique within the table, never reused
  bool is_global = true;
  key_schema keys;
  projection_type projection = projection_type::all;
  std::vector<std::string> non_key_attributes;  // for INCLUDE
  std::int64_t read_capacity = 0;               // GSI ProvisionedThroughput (0 = on demand)
  std::int64_t write_capacity = 0;
  // A GSI added by UpdateTable whose existing items are still being indexed (DynamoDB's
  // IndexStatus CREATING with Backfilling true): reads of it are refused until the back-fill
  // (table_store) completes and clears this. Stored only when true: older catalogs load ACTIVE.
  bool backfilling = false;
};

// One other region's replica of a global table (issue 3, DynamoDB global tables 2019.11.21).
struct replica_info {
  std::string region;
  std::string status;  // CREATING, ACTIVE, DELETING
};

struct table_info {
  std::string name;
  std::uint64_t id = 0;    // key-space id, never reused
  std::string table_uuid;  // TableId in DescribeTable
  key_schema keys;
  boost::json::array attribute_definitions;  // as given to CreateTable (validated)
  std::vector<index_info> indexes;
  std::string billing_mode = "PROVISIONED";  // or PAY_PER_REQUEST
  std::int64_t read_capacity = 0;
  std::int64_t write_capacity = 0;
  double creation_time = 0;  // seconds since the epoch
  std::vector<std::pair<std::string, std::string>> tags;
  // Streams (issue 3): when on, every item write also writes a stream record in its batch.
  bool stream_enabled = false;
  std::string stream_view_type;  // NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY
  std::string stream_label;
  std::uint32_t next_index_id = 1;
  // Global tables (issue 3): the OTHER regions holding a replica of this table, as DescribeTable
  // lists them. Empty for a table that is not global. Deletes of a global table's items leave
  // tombstones (keys.h item_record) so that a late, older remote write cannot resurrect them.
  std::vector<replica_info> replicas;
  // Room for later features (global table replicas) without a format change.
  boost::json::object extra;

  const index_info* find_index(std::string_view index_name) const;
  const replica_info* find_replica(std::string_view region) const;
  // Per-replica settings set by UpdateTable ReplicaUpdates Update (DynamoDB's
  // ReplicaDescription fields: ReplicaTableClassSummary, ProvisionedThroughputOverride,
  // OnDemandThroughputOverride, KMSMasterKeyId, GlobalSecondaryIndexes), kept in `extra`; for
  // this region's own replica too. Empty when none were set.
  boost::json::object replica_settings(std::string_view region) const;
  void set_replica_settings(std::string_view region, boost::json::object settings);
  // Settings carry a version under this key (not a DynamoDB field: DescribeTable leaves it out):
  // the microsecond timestamp of the ReplicaUpdates Update that made them, above the version it
  // replaced. Regions pass settings on to one another in both directions, so a report sent
  // before an update can arrive after it; the version lets it lose.
  static constexpr std::string_view settings_version_key = "MysfitsSettingsVersion";
  // The version `settings` carry; 0 for none (settings written before versions existed).
  static std::uint64_t settings_version(const boost::json::object& settings);
  // Whether `incoming` settings replace `local` ones: a higher version wins; at equal versions
  // the greater serialized text (so every region picks the same one); unversioned settings
  // replace unversioned ones that differ, as before versions existed.
  static bool settings_replace(const boost::json::object& incoming,
                               const boost::json::object& local);
  bool is_global() const { return !replicas.empty(); }
  bool has_tag(std::string_view key, std::string_view value) const;
  // Tag mysfits:counter-merge = true (issue 7, beyond DynamoDB): ADD on a number and
  // SET a = a + :n replicate as counter deltas that every replica adds, so concurrent
  // increments in different regions are all kept; other attributes keep last-writer-wins.
  bool is_counter_merge() const { return has_tag("mysfits:counter-merge", "true"); }
};

boost::json::object to_json(const table_info& t);
result<table_info> table_info_from_json(const boost::json::object& o);

class catalog {
 public:
  explicit catalog(store& s) : store_(s) {}

  // Reads every table description from the store.
  [[nodiscard]] result<void> load();

  [[nodiscard]] std::shared_ptr<const table_info> find(std::string_view name) const;
  // All tables, ordered by name.
  [[nodiscard]] std::vector<std::shared_ptr<const table_info>> list() const;

  // Assigns the table id and stores the description; fails with already_exists.
  [[nodiscard]] result<std::shared_ptr<const table_info>> create(table_info t);
  // Replaces the description of an existing table (same id); `extra` is written in the same batch.
  [[nodiscard]] result<std::shared_ptr<const table_info>> update(table_info t,
                                                                 write_batch* extra = nullptr);
  // Removes the description and all of the table's data ranges in one batch.
  [[nodiscard]] result<std::shared_ptr<const table_info>> remove(std::string_view name);

 private:
  store& store_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const table_info>, std::less<>> tables_;
  std::uint64_t next_table_id_ = 1;
};

}  // namespace mysfits::table::storage
