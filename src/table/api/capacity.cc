// Capacity units (capacity.h).
#include "api/capacity.h"

#include <cmath>

#include "api/request.h"
#include "storage/table_store.h"
#include "types/attribute_value.h"

namespace mysfits::table::api {

namespace json = boost::json;

namespace {
// Whole numbers as integers ("1", not 1E0), halves as doubles: what real clients read back.
json::value units_json(double u) {
  if (u == std::floor(u) && u < 9e15) return static_cast<std::int64_t>(u);
  return u;
}
}  // namespace

capacity_mode get_return_consumed_capacity(const json::object& req) {
  auto v = find_string(req, "ReturnConsumedCapacity");
  if (!v || *v == "NONE") return capacity_mode::none;
  if (*v == "TOTAL") return capacity_mode::total;
  if (*v == "INDEXES") return capacity_mode::indexes;
  throw api_error::validation("1 validation error detected: Value '" + std::string(*v) +
                              "' at 'returnConsumedCapacity' failed to satisfy constraint: Member "
                              "must satisfy enum value set: [INDEXES, TOTAL, NONE]");
}

void check_return_item_collection_metrics(const json::object& req) {
  auto v = find_string(req, "ReturnItemCollectionMetrics");
  if (!v || *v == "NONE" || *v == "SIZE") return;
  throw api_error::validation("1 validation error detected: Value '" + std::string(*v) +
                              "' at 'returnItemCollectionMetrics' failed to satisfy constraint: "
                              "Member must satisfy enum value set: [SIZE, NONE]");
}

double read_units(std::size_t bytes, bool consistent) {
  double units = std::max<double>(1, std::ceil(static_cast<double>(bytes) / 4096.0));
  return consistent ? units : units / 2;
}

double write_units(std::size_t bytes) {
  return std::max<double>(1, std::ceil(static_cast<double>(bytes) / 1024.0));
}

void consumed_capacity::add_index(const storage::index_info& i, double units) {
  (i.is_global ? gsi_units_ : lsi_units_)[i.name] += units;
}

void consumed_capacity::add_item_write(const storage::table_info& t, const json::object* old_item,
                                       const json::object* new_item) {
  std::size_t old_size = old_item ? item_size(*old_item) : 0;
  std::size_t new_size = new_item ? item_size(*new_item) : 0;
  add_table(write_units(std::max(old_size, new_size)));
  for (const auto& i : t.indexes) {
    auto old_key = old_item ? storage::index_key_bytes(*old_item, i.keys) : std::nullopt;
    auto new_key = new_item ? storage::index_key_bytes(*new_item, i.keys) : std::nullopt;
    if (!old_key && !new_key) continue;
    std::optional<json::object> old_entry, new_entry;
    if (old_key) old_entry = storage::project_for_index(*old_item, t, i);
    if (new_key) new_entry = storage::project_for_index(*new_item, t, i);
    double units = 0;
    if (old_key && new_key && *old_key == *new_key) {
      if (*old_entry != *new_entry) units = write_units(item_size(*new_entry));
    } else {
      if (old_entry) units += write_units(item_size(*old_entry));
      if (new_entry) units += write_units(item_size(*new_entry));
    }
    if (units > 0) add_index(i, units);
  }
}

json::object consumed_capacity::to_json(capacity_mode mode) const {
  double total = table_units_;
  for (const auto& [_, u] : gsi_units_) total += u;
  for (const auto& [_, u] : lsi_units_) total += u;
  json::object o{{"TableName", table_}, {"CapacityUnits", units_json(total)}};
  if (mode == capacity_mode::indexes) {
    o["Table"] = json::object{{"CapacityUnits", units_json(table_units_)}};
    auto map_of = [](const std::map<std::string, double>& m) {
      json::object out;
      for (const auto& [name, u] : m) out[name] = json::object{{"CapacityUnits", units_json(u)}};
      return out;
    };
    if (!gsi_units_.empty()) o["GlobalSecondaryIndexes"] = map_of(gsi_units_);
    if (!lsi_units_.empty()) o["LocalSecondaryIndexes"] = map_of(lsi_units_);
  }
  return o;
}

}  // namespace mysfits::table::api
