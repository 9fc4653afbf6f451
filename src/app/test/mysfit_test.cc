// The shipped data and the item <-> JSON conversions.
#include "mysfit.h"

#include <gtest/gtest.h>

using namespace mysfits::app;
namespace json = boost::json;

// The binary carries all twelve mysfits with descriptions and pictures.
TEST(Mysfit, ShipsTwelveMysfitsWithDescriptions) {
  auto all = shipped_mysfits();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 12u);
  int evil = 0;
  for (const auto& m : *all) {
    EXPECT_FALSE(m.description.empty());
    EXPECT_NE(m.description, "A mysfit looking for a home.") << m.species;
    if (m.good_evil == "Evil") ++evil;
  }
  EXPECT_EQ(evil, 4);
}

// An item converts to the original service's JSON shape, with numbers as numbers.
TEST(Mysfit, ConvertsItemToOriginalShape) {
  auto all = shipped_mysfits().value();
  auto j = to_json(to_item(all[0]));
  EXPECT_EQ(j.at("mysfitId").as_string(), "4e53920c-505a-4a90-a694-b9300791f0ae");
  EXPECT_EQ(j.at("name").as_string(), "Evangeline");
  EXPECT_EQ(j.at("age").as_int64(), 43);
  EXPECT_EQ(j.at("goodevil").as_string(), "Evil");
  EXPECT_EQ(j.at("lawchaos").as_string(), "Lawful");
  EXPECT_EQ(j.at("thumbImageUri").as_string(), "/img/chimera.svg");
  EXPECT_EQ(j.at("likes").as_int64(), 0);
  EXPECT_EQ(j.at("adopted").as_bool(), false);
  EXPECT_EQ(j.size(), 11u);
}

// Ids must be plausible keys; anything else is a 400 before the table sees it.
TEST(Mysfit, ValidatesIds) {
  EXPECT_TRUE(is_valid_mysfit_id("4e53920c-505a-4a90-a694-b9300791f0ae"));
  EXPECT_FALSE(is_valid_mysfit_id(""));
  EXPECT_FALSE(is_valid_mysfit_id("a b"));
  EXPECT_FALSE(is_valid_mysfit_id(std::string(65, 'a')));
  EXPECT_FALSE(is_valid_mysfit_id("x\"y"));
}

// A malformed TSV line is reported, not skipped.
TEST(Mysfit, RejectsMalformedTsv) {
  EXPECT_FALSE(parse_mysfits_tsv("MysfitId\tName\nonly\ttwo\n"));
}

namespace {

// The twelve shipped mysfits as table items.
json::array shipped_items() {
  json::array items;
  for (const auto& m : shipped_mysfits().value()) items.push_back(to_item(m));
  return items;
}

// A shipped mysfit with text that needs every kind of escape, a number too big for a double, a
// fractional age and an adopted flag.
json::object odd_item() {
  json::object odd = to_item(shipped_mysfits().value()[1]);
  odd["Name"] = json::object{{"S", "quote \" back\\slash \n\t\b\f\r \x01\x1f \x7f caf\xc3\xa9 /"}};
  odd["Likes"] = json::object{{"N", "123456789012345678901234567890"}};
  odd["Age"] = json::object{{"N", "4.5"}};
  odd["Adopted"] = json::object{{"BOOL", true}};
  return odd;
}

}  // namespace

// The list routes write their JSON as text; it must be exactly what serializing the converted
// objects gives: escapes, big or fractional numbers kept as strings, missing attributes, order.
TEST(Mysfit, ListTextEqualsSerializedObjects) {
  json::array items = shipped_items();
  json::object odd = odd_item();
  odd.erase("Species");
  items.push_back(odd);
  items.push_back(json::object{{"MysfitId", {{"S", "bare"}}}});
  json::array expected_items;
  for (const auto& it : items) expected_items.push_back(to_json(it.as_object()));
  items.push_back("not an object");
  std::string expected = json::serialize(json::object{{"mysfits", expected_items}});
  EXPECT_EQ(mysfit_list_json(items), expected);
  EXPECT_EQ(mysfit_list_json(json::array{}), R"({"mysfits":[]})");
  std::string one;
  append_json(one, odd);
  EXPECT_EQ(one, json::serialize(to_json(odd)));
}

// The list routes write their body straight from the table's answer text with a streaming
// parser; it must be exactly mysfit_list_json of the parsed items, whatever the items hold:
// escapes, odd numbers, missing and mistyped attributes, nested maps and lists, non-objects,
// across pages, and a LastEvaluatedKey reported only when it is a non-empty object.
TEST(Mysfit, StreamedListEqualsListOfParsedItems) {
  json::array items = shipped_items();
  json::object odd = odd_item();
  odd["Species"] = json::object{{"N", "7"}};  // wrong type: ""
  odd["GoodEvil"] = "plain";                  // not an attribute value
  odd["LawChaos"] = json::object{{"M", {{"S", json::object{{"S", "deep"}}}}}};  // a map: ""
  odd["Extra"] = json::object{{"L", json::array{json::object{{"S", "x"}}, 1, nullptr}}};
  odd["Description"] = json::object{{"S", ""}};
  items.push_back(odd);
  items.push_back(json::object{{"MysfitId", {{"S", "bare"}}}, {"Likes", {{"N", "-12"}}}});
  items.push_back(json::object{{"Age", {{"N", 3}}}, {"Adopted", {{"BOOL", "yes"}}}});
  items.push_back("not an object");
  items.push_back(json::array{json::object{{"MysfitId", {{"S", "inside an array"}}}}});
  std::string expected = mysfit_list_json(items);

  // One page holding everything.
  std::string answer = json::serialize(json::object{{"Count", 3}, {"Items", items}});
  std::string out = "{\"mysfits\":[";
  bool first = true;
  auto page = append_items_json(out, answer, first);
  out += "]}";
  EXPECT_TRUE(page.ok);
  EXPECT_FALSE(page.has_last_key);
  EXPECT_EQ(out, expected);

  // The same items over two pages, the first with a LastEvaluatedKey.
  json::array part1(items.begin(), items.begin() + 5), part2(items.begin() + 5, items.end());
  out = "{\"mysfits\":[";
  first = true;
  page =
      append_items_json(out,
                        json::serialize(json::object{
                            {"LastEvaluatedKey", {{"MysfitId", {{"S", "x"}}}}}, {"Items", part1}}),
                        first);
  EXPECT_TRUE(page.ok);
  EXPECT_TRUE(page.has_last_key);
  page = append_items_json(
      out, json::serialize(json::object{{"Items", part2}, {"LastEvaluatedKey", json::object{}}}),
      first);
  EXPECT_TRUE(page.ok);
  EXPECT_FALSE(page.has_last_key);
  out += "]}";
  EXPECT_EQ(out, expected);

  // No items, a non-array Items, and answers that are not JSON objects.
  out.clear();
  first = true;
  EXPECT_TRUE(append_items_json(out, R"({"Count":0})", first).ok);
  EXPECT_TRUE(append_items_json(out, R"({"Items":{"a":{"MysfitId":{"S":"x"}}}})", first).ok);
  EXPECT_EQ(out, "");
  EXPECT_FALSE(append_items_json(out, R"([{"Items":[]}])", first).ok);
  EXPECT_FALSE(append_items_json(out, R"({"Items":[)", first).ok);
  EXPECT_FALSE(append_items_json(out, "", first).ok);
  EXPECT_FALSE(append_items_json(out, R"({"Items":[]} trailing)", first).ok);
  EXPECT_TRUE(append_items_json(out, "{\"Items\":[]} \n", first).ok);  // as json::parse
  EXPECT_TRUE(append_items_json(out, "{\"Items\":[]} \n", first).ok);
}
