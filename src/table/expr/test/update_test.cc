// Unit tests of UpdateExpression parsing and application.
#include <gtest/gtest.h>

#include "expr/expressions.h"
#include "test_util.h"

namespace mysfits::table::expr {
namespace {
using testing::error_of;
using testing::obj;

const boost::json::object values = obj(R"({
  ":one": {"N": "1"}, ":half": {"N": "0.5"}, ":a": {"S": "a"}, ":l": {"L": [{"S": "z"}]},
  ":ss": {"SS": ["y", "z"]}, ":ns": {"NS": ["2", "3"]}, ":big": {"N": "1E37"},
  ":m": {"M": {"k": {"S": "v"}}}
})");

boost::json::object base() {
  return obj(R"({
    "id": {"S": "k"}, "n": {"N": "5"}, "s": {"S": "str"}, "tags": {"SS": ["x", "y"]},
    "nums": {"NS": ["1", "2"]}, "l": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]},
    "m": {"M": {"a": {"N": "1"}, "sub": {"M": {}}}}
  })");
}

// Applies `text` to a copy of base() (or `item`) and returns the result.
boost::json::object updated(std::string_view text, boost::json::object item = base()) {
  expression_context ctx(nullptr, &values);
  (void)apply_update(parse_update(text, ctx), item);
  return item;
}

std::string update_error(std::string_view text, boost::json::object item = base()) {
  return error_of([&] { (void)updated(text, std::move(item)); });
}

// SET assigns values, arithmetic is exact, functions compose.
TEST(UpdateExpression, Set) {
  auto it = updated("SET a = :a, n = n + :half, m.b = :one, l[1] = :a, l[10] = :one");
  EXPECT_EQ(it["a"], obj(R"({"S":"a"})"));
  EXPECT_EQ(it["n"], obj(R"({"N":"5.5"})"));
  EXPECT_EQ(it["m"].at("M").at("b"), obj(R"({"N":"1"})"));
  EXPECT_EQ(it["l"], obj(R"({"L":[{"S":"a"},{"S":"a"},{"S":"c"},{"N":"1"}]})"));
  it = updated("SET n = :one - n, c = if_not_exists(c, :one), s = if_not_exists(s, :a)");
  EXPECT_EQ(it["n"], obj(R"({"N":"-4"})"));
  EXPECT_EQ(it["c"], obj(R"({"N":"1"})"));
  EXPECT_EQ(it["s"], obj(R"({"S":"str"})"));
  it = updated("SET l = list_append(l, :l), x = list_append(if_not_exists(x, :l), :l)");
  EXPECT_EQ(it["l"].at("L").as_array().size(), 4u);
  EXPECT_EQ(it["x"], obj(R"({"L":[{"S":"z"},{"S":"z"}]})"));
}

// Every SET operand reads the item as it was before the update.
TEST(UpdateExpression, SetReadsOldValues) {
  auto it = updated("SET n = s, s = n");
  EXPECT_EQ(it["n"], obj(R"({"S":"str"})"));
  EXPECT_EQ(it["s"], obj(R"({"N":"5"})"));
}

// REMOVE deletes attributes, map keys and list elements (original indexes).
TEST(UpdateExpression, Remove) {
  auto it = updated("REMOVE s, m.a, l[0], l[2], l[7], nope");
  EXPECT_FALSE(it.contains("s"));
  EXPECT_FALSE(it["m"].at("M").as_object().contains("a"));
  EXPECT_EQ(it["l"], obj(R"({"L":[{"S":"b"}]})"));
}

// List indexes refer to the original list, and appends past the end go in index order
// (behaviour recorded by ScyllaDB's DynamoDB-verified tests).
TEST(UpdateExpression, ListIndexSemantics) {
  const auto six = obj(
      R"({"a": {"L": [{"N": "2"}, {"N": "3"}, {"N": "4"}, {"N": "5"}, {"N": "6"}, {"N": "7"}]}})");
  const auto expected =
      obj(R"({"a": {"L": [{"N": "2"}, {"N": "4"}, {"N": "1"}, {"N": "6"}, {"N": "7"}]}})");
  EXPECT_EQ(updated("REMOVE a[1] SET a[3] = :one", six), expected);
  EXPECT_EQ(updated("SET a[3] = :one REMOVE a[1]", six), expected);
  EXPECT_EQ(
      updated("SET l[84] = :one, l[37] = :a, l[17] = :half")["l"],
      obj(R"({"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}, {"N": "0.5"}, {"S": "a"}, {"N": "1"}]})"));
}

// REMOVE x.y is an error on an existing item without x, but ignored on a new item.
TEST(UpdateExpression, RemoveNestedOnNewItem) {
  expression_context ctx;
  const update u = parse_update("REMOVE x.y, z[0]", ctx);
  auto fresh = obj(R"({"id": {"S": "k"}})");
  EXPECT_NO_THROW((void)apply_update(u, fresh, false));
  EXPECT_EQ(fresh, obj(R"({"id": {"S": "k"}})"));
  EXPECT_EQ(error_of([&] { (void)apply_update(u, fresh, true); }),
            "The document path provided in the update expression is invalid for update");
}

// ADD adds numbers, creates gone attributes and unions sets; DELETE removes set elements.
TEST(UpdateExpression, AddAndDelete) {
  auto it = updated("ADD n :one, newn :one, tags :ss, nums :ns, m.c :one");
  EXPECT_EQ(it["n"], obj(R"({"N":"6"})"));
  EXPECT_EQ(it["newn"], obj(R"({"N":"1"})"));
  EXPECT_EQ(it["tags"].at("SS").as_array().size(), 3u);
  EXPECT_EQ(it["nums"].at("NS").as_array().size(), 3u);
  EXPECT_EQ(it["m"].at("M").at("c"), obj(R"({"N":"1"})"));
  it = updated("DELETE tags :ss, nums :ns, gone :ss");
  EXPECT_EQ(it["tags"], obj(R"({"SS":["x"]})"));
  EXPECT_EQ(it["nums"], obj(R"({"NS":["1"]})"));
  it = updated("DELETE tags :ss", obj(R"({"tags": {"SS": ["y", "z"]}})"));
  EXPECT_FALSE(it.contains("tags"));  // an emptied set disappears
}

// The changed top-level names are reported for UPDATED_OLD / UPDATED_NEW.
TEST(UpdateExpression, ReportsChangedAttributes) {
  expression_context ctx(nullptr, &values);
  auto item = base();
  auto changed =
      apply_update(parse_update("SET m.b = :one, z = :a REMOVE s ADD n :one", ctx), item);
  EXPECT_EQ(changed, (std::set<std::string>{"m", "n", "s", "z"}));
}

// Runtime errors leave the item untouched and carry DynamoDB's messages.
TEST(UpdateExpression, RuntimeErrors) {
  EXPECT_EQ(update_error("SET n = s + :one"),
            "An operand in the update expression has an incorrect data type");
  EXPECT_EQ(update_error("SET n = nope + :one"),
            "The provided expression refers to an attribute that does not exist in the item");
  EXPECT_EQ(update_error("SET nope.a = :one"),
            "The document path provided in the update expression is invalid for update");
  EXPECT_EQ(update_error("SET s.a = :one"),
            "The document path provided in the update expression is invalid for update");
  EXPECT_EQ(update_error("ADD s :one"),
            "An operand in the update expression has an incorrect data type");
  EXPECT_EQ(update_error("DELETE tags :ns"),
            "An operand in the update expression has an incorrect data type");
  EXPECT_EQ(update_error("SET l = list_append(s, :l)"),
            "An operand in the update expression has an incorrect data type");
  EXPECT_NE(update_error("SET n = :big + :half").find("Number overflow"), std::string::npos);
  expression_context ctx(nullptr, &values);
  auto item = base();
  EXPECT_THROW((void)apply_update(parse_update("SET z = :a, n = s + :one", ctx), item), api_error);
  EXPECT_EQ(item, base());
}

// Static errors are found while parsing.
TEST(UpdateExpression, ParseErrors) {
  EXPECT_EQ(update_error("SET a = :a SET b = :a"),
            "Invalid UpdateExpression: The \"SET\" section can only be used once in an update "
            "expression;");
  EXPECT_EQ(update_error("SET a = :a, a = :one"),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove "
            "or rewrite one of these paths; path one: [a], path two: [a]");
  EXPECT_EQ(update_error("SET m.a = :a REMOVE m"),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove "
            "or rewrite one of these paths; path one: [m, a], path two: [m]");
  EXPECT_NE(update_error("SET l[1] = :a REMOVE l.b").find("conflict"), std::string::npos);
  EXPECT_EQ(update_error("ADD n :a"),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; "
            "operator: ADD, operand type: STRING");
  EXPECT_EQ(update_error("DELETE tags :one"),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; "
            "operator: DELETE, operand type: NUMBER");
  EXPECT_EQ(update_error("SET a = :a + :one"),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; "
            "operator or function: +, operand type: S");
  EXPECT_EQ(update_error("SET a = :one UPDATE"),
            "Invalid UpdateExpression: Syntax error; token: \"UPDATE\", near: \":one UPDATE\"");
  // Both examples are messages real DynamoDB returned (quoted in public bug reports).
  EXPECT_EQ(update_error("ADD hits : incr"),
            "Invalid UpdateExpression: Syntax error; token: \":\", near: \"hits : incr\"");
  EXPECT_EQ(update_error("INVALID SYNTAX HERE"),
            "Invalid UpdateExpression: Syntax error; token: \"INVALID\", near: \"INVALID SYNTAX\"");
  // Bare names start with a letter; this message is one DynamoDB gives (per ScyllaDB's tests).
  EXPECT_EQ(update_error("SET _123 = :one"),
            "Invalid UpdateExpression: Syntax error; token: \"_\", near: \"SET _123\"");
  EXPECT_NE(update_error("SET 123a = :one"), "");
  EXPECT_NE(update_error("SET :a = :one"), "");
  EXPECT_NE(update_error("SET a = :"), "");
  EXPECT_EQ(updated("  set   A123_=:one  ")["A123_"], obj(R"({"N": "1"})"));
  EXPECT_EQ(update_error("SET"),
            "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"SET\"");
  EXPECT_EQ(update_error("  "), "Invalid UpdateExpression: The expression can not be empty;");
  EXPECT_NE(update_error("SET a = size(s)"), "");
  EXPECT_EQ(update_error("SET a = list_append(list_append(:l, :l), :l)"),
            "Invalid UpdateExpression: The function is not allowed to be used this way in an "
            "expression; function: list_append");
  EXPECT_EQ(update_error("SET a = LIST_APPEND(:l, :l)"),
            "Invalid UpdateExpression: Invalid function name; function: LIST_APPEND");
  EXPECT_EQ(update_error("SET a = if_not_exists(:one, :one)"),
            "Invalid UpdateExpression: Operator or function requires a document path; operator or "
            "function: if_not_exists");
  EXPECT_NE(update_error("SET c = if_not_exists(c, :one + :one)").find("Syntax error"),
            std::string::npos);
  EXPECT_EQ(updated("SET b = if_not_exists(b, :one) + :one")["b"], obj(R"({"N": "2"})"));
  EXPECT_NE(update_error("SET a = :one + :one + :one"), "");
  EXPECT_NE(update_error("ADD n n"), "");
}

// Key attributes may not be the target of any action.
TEST(UpdateExpression, KeyAttributesAreProtected) {
  expression_context ctx(nullptr, &values);
  const update u = parse_update("SET id = :a", ctx);
  EXPECT_EQ(error_of([&] {
              check_update_does_not_touch_keys(u, {"id", std::nullopt});
            }),
            "Cannot update attribute id. This attribute is part of the key");
  EXPECT_NO_THROW(check_update_does_not_touch_keys(u, {"other", std::string("sk")}));
}

}  // namespace
}  // namespace mysfits::table::expr
