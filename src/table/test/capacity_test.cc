// Capacity-unit arithmetic of ReturnConsumedCapacity (api/capacity.h): read and write units,
// what an item write costs each index, and the response shapes of TOTAL and INDEXES.
#include "api/capacity.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/api_error.h"

namespace mysfits::table::api {
namespace {

namespace json = boost::json;

// Reads count 4 KB units (at least one), halved when eventually consistent.
TEST(Capacity, ReadUnits) {
  EXPECT_EQ(read_units(0, true), 1);
  EXPECT_EQ(read_units(0, false), 0.5);
  EXPECT_EQ(read_units(4096, true), 1);
  EXPECT_EQ(read_units(4097, true), 2);
  EXPECT_EQ(read_units(4097, false), 1);
  EXPECT_EQ(read_units(3 * 4096 + 1, false), 2);
}

// Writes count 1 KB units, at least one.
TEST(Capacity, WriteUnits) {
  EXPECT_EQ(write_units(0), 1);
  EXPECT_EQ(write_units(1024), 1);
  EXPECT_EQ(write_units(1025), 2);
}

// Only TOTAL, INDEXES and NONE are accepted.
TEST(Capacity, ModeValidation) {
  EXPECT_EQ(get_return_consumed_capacity(json::object{}), capacity_mode::none);
  EXPECT_EQ(get_return_consumed_capacity({{"ReturnConsumedCapacity", "TOTAL"}}),
            capacity_mode::total);
  EXPECT_EQ(get_return_consumed_capacity({{"ReturnConsumedCapacity", "INDEXES"}}),
            capacity_mode::indexes);
  EXPECT_EQ(get_return_consumed_capacity({{"ReturnConsumedCapacity", "NONE"}}),
            capacity_mode::none);
  EXPECT_THROW((void)get_return_consumed_capacity({{"ReturnConsumedCapacity", "ALL"}}), api_error);
}

storage::table_info table_with_index() {
  storage::table_info t;
  t.name = "T";
  t.keys.hash_name = "p";
  storage::index_info g;
  g.name = "ByColor";
  g.id = 1;
  g.keys.hash_name = "color";
  g.projection = storage::projection_type::keys_only;
  t.indexes.push_back(g);
  return t;
}

json::object item(const std::string& text) { return json::parse(text).as_object(); }

// An item write costs the table the larger image; each index pays for the entries it adds,
// changes or removes: a changed index key is a delete and a put.
TEST(Capacity, ItemWriteChargesIndexes) {
  auto t = table_with_index();
  auto big =
      item(R"({"p":{"S":"a"},"color":{"S":"red"},"x":{"S":")" + std::string(1500, 'x') + R"("}})");
  auto red = item(R"({"p":{"S":"a"},"color":{"S":"red"}})");
  auto blue = item(R"({"p":{"S":"a"},"color":{"S":"blue"}})");
  auto plain = item(R"({"p":{"S":"a"}})");
  {
    consumed_capacity cc("T");
    cc.add_item_write(t, &big, &red);  // the old image is the larger: 2 units; index unchanged
    EXPECT_EQ(json::serialize(cc.to_json(capacity_mode::indexes)),
              R"({"TableName":"T","CapacityUnits":2,"Table":{"CapacityUnits":2}})");
  }
  {
    consumed_capacity cc("T");
    cc.add_item_write(t, &red, &blue);  // index key changed: delete + put
    EXPECT_EQ(json::serialize(cc.to_json(capacity_mode::indexes)),
              R"({"TableName":"T","CapacityUnits":3,"Table":{"CapacityUnits":1},)"
              R"("GlobalSecondaryIndexes":{"ByColor":{"CapacityUnits":2}}})");
    EXPECT_EQ(json::serialize(cc.to_json(capacity_mode::total)),
              R"({"TableName":"T","CapacityUnits":3})");
  }
  {
    consumed_capacity cc("T");
    cc.add_item_write(t, nullptr, &plain);   // not in the index
    cc.add_item_write(t, &blue, nullptr);    // removed from the index
    cc.add_item_write(t, nullptr, nullptr);  // delete of a missing item: still one unit
    EXPECT_EQ(json::serialize(cc.to_json(capacity_mode::indexes)),
              R"({"TableName":"T","CapacityUnits":4,"Table":{"CapacityUnits":3},)"
              R"("GlobalSecondaryIndexes":{"ByColor":{"CapacityUnits":1}}})");
  }
}

// Half units serialize as decimals, whole ones as integers.
TEST(Capacity, HalfUnits) {
  consumed_capacity cc("T");
  cc.add_table(read_units(10, false));
  EXPECT_EQ(cc.to_json(capacity_mode::total).at("CapacityUnits").as_double(), 0.5);
}

}  // namespace
}  // namespace mysfits::table::api
