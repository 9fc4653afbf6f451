// Seeding creates the table with its GSIs once and is idempotent.
#include "mysfits/app/seed.h"

#include <gtest/gtest.h>

#include "fake_table.h"

using namespace mysfits;
using namespace mysfits::app;

// A first run creates the table and inserts twelve; a second inserts nothing and keeps likes.
TEST(Seed, CreatesTableAndIsIdempotent) {
  app::testing::fake_table t;
  seed_options o;
  o.pause = [] {};
  auto first = seed(t, o);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->created_table);
  EXPECT_EQ(first->inserted, 12);
  const std::string id = "33e1fbd4-2fd8-45fb-a42f-f92551694506";
  t.items[id]["Likes"] = boost::json::object{{"N", "7"}};
  auto second = seed(t, o);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->created_table);
  EXPECT_EQ(second->inserted, 0);
  EXPECT_EQ(second->existing, 12);
  EXPECT_EQ(t.items[id]["Likes"].at("N").as_string(), "7");
}

// The CreateTable request declares both GSIs keyed as the original template does.
TEST(Seed, CreateTableRequestHasBothIndexes) {
  auto req = create_table_request("MysfitsTable");
  const auto& gsis = req.at("GlobalSecondaryIndexes").as_array();
  ASSERT_EQ(gsis.size(), 2u);
  EXPECT_EQ(gsis[0].at("IndexName").as_string(), "GoodEvilIndex");
  EXPECT_EQ(gsis[0].at("KeySchema").as_array()[0].at("AttributeName").as_string(), "GoodEvil");
  EXPECT_EQ(gsis[0].at("KeySchema").as_array()[1].at("KeyType").as_string(), "RANGE");
  EXPECT_EQ(gsis[1].at("IndexName").as_string(), "LawChaosIndex");
  EXPECT_EQ(gsis[1].at("Projection").at("ProjectionType").as_string(), "ALL");
  EXPECT_EQ(req.at("BillingMode").as_string(), "PAY_PER_REQUEST");
}

// A table error other than "not found" stops seeding with that error.
TEST(Seed, ReportsTableErrors) {
  app::testing::fake_table t;
  t.fail_with({"ConnectionError", "refused", 0});
  seed_options o;
  o.pause = [] {};
  auto r = seed(t, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type, "ConnectionError");
}
