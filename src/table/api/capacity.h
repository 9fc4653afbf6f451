// ReturnConsumedCapacity (TOTAL / INDEXES / NONE) with DynamoDB's capacity-unit arithmetic:
// reads in 4 KB units (eventually consistent reads count half), writes in 1 KB units of the
// larger of the item before and after, at least one unit each; a write also costs each index
// whose entry it adds, changes or removes. Used by the item, batch, query and scan operations.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <map>
#include <string>

#include "storage/catalog.h"

namespace mysfits::table::api {

enum class capacity_mode { none, total, indexes };

// The request's ReturnConsumedCapacity (absent: none); ValidationException for another value.
[[nodiscard]] capacity_mode get_return_consumed_capacity(const boost::json::object& req);

// Checks a write's ReturnItemCollectionMetrics (SIZE or NONE; ValidationException otherwise).
// Item collections exist only on tables with local secondary indexes; no metrics are returned.
void check_return_item_collection_metrics(const boost::json::object& req);

// Read units for `bytes` read at once: ceil(bytes / 4 KB), at least 1, halved when eventually
// consistent.
[[nodiscard]] double read_units(std::size_t bytes, bool consistent);
// Write units for an item of `bytes`: ceil(bytes / 1 KB), at least 1.
[[nodiscard]] double write_units(std::size_t bytes);

// The capacity one operation consumed on one table and its indexes.
class consumed_capacity {
 public:
  explicit consumed_capacity(std::string table_name) : table_(std::move(table_name)) {}

  const std::string& table() const { return table_; }
  void add_table(double units) { table_units_ += units; }
  void add_index(const storage::index_info& i, double units);
  // One item write: the table's units (the larger of `old_item` and `new_item`, 1 KB units, at
  // least 1 — also for a delete of a missing item) and each index's: adding or removing an
  // entry costs its projected size, a changed index key both, a changed projection the new one.
  void add_item_write(const storage::table_info& t, const boost::json::object* old_item,
                      const boost::json::object* new_item);

  // {"TableName", "CapacityUnits"} plus, for INDEXES, "Table" and the per-index maps.
  [[nodiscard]] boost::json::object to_json(capacity_mode mode) const;

 private:
  std::string table_;
  double table_units_ = 0;
  std::map<std::string, double> gsi_units_;
  std::map<std::string, double> lsi_units_;
};

}  // namespace mysfits::table::api
