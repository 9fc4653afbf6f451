// Unit tests of expression_cache: a cached tree gives what parsing gives (results, errors,
// unused-placeholder reports) for each request's own values, and the cache stays bounded.
#include "expr/expression_cache.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <string>
#include <thread>
#include <vector>

#include "expr/expressions.h"
#include "test_util.h"

namespace mysfits::table::expr {
namespace {
using testing::error_of;
using testing::obj;

boost::json::object item() {
  return obj(R"({
    "id": {"S": "k"}, "n": {"N": "5"}, "s": {"S": "str"}, "tags": {"SS": ["x", "y"]},
    "l": {"L": [{"S": "a"}, {"N": "2"}]}, "m": {"M": {"a": {"N": "1"}}}, "b": {"BOOL": true}
  })");
}

// What a request with `names` / `values` (JSON text, "" for absent) and these expressions gets:
// the applied update, the condition's verdict on item(), the projection of item(), or the
// first error, then check_all_used's error. `cached` parses through the cache.
struct request_parts {
  std::string update, condition, projection, names, values;
};

std::string outcome(const request_parts& r, bool cached) {
  boost::json::object names = r.names.empty() ? boost::json::object() : obj(r.names);
  boost::json::object values = r.values.empty() ? boost::json::object() : obj(r.values);
  std::string out;
  std::string e = error_of([&] {
    expression_context ctx(r.names.empty() ? nullptr : &names,
                           r.values.empty() ? nullptr : &values);
    if (!r.update.empty()) {
      auto u = cached ? parse_update_cached(r.update, ctx) : parse_update(r.update, ctx);
      auto it = item();
      std::string applied = error_of([&] { (void)apply_update(u, it); });
      out += "update=" + (applied.empty() ? boost::json::serialize(it) : "error: " + applied);
    }
    if (!r.condition.empty()) {
      auto c = cached ? parse_condition_cached(r.condition, ctx, "ConditionExpression")
                      : parse_condition(r.condition, ctx, "ConditionExpression");
      auto it = item();
      out += std::string(" condition=") + (evaluate_condition(c, &it) ? "true" : "false");
      out += std::string(" on-missing=") + (evaluate_condition(c, nullptr) ? "true" : "false");
    }
    if (!r.projection.empty()) {
      auto p =
          cached ? parse_projection_cached(r.projection, ctx) : parse_projection(r.projection, ctx);
      out += " projection=" + boost::json::serialize(project(item(), p));
    }
    ctx.check_all_used();
  });
  return e.empty() ? out : out + " error: " + e;
}

// A cached tree is bound to each request's own values: the same text with another value gives
// another result, and the second request is a hit.
TEST(ExpressionCache, SameTextWithOtherValuesGivesTheirResult) {
  clear_expression_cache_for_test();
  request_parts one{"SET n = n + :d", "", "", "", R"({":d": {"N": "1"}})"};
  request_parts five{"SET n = n + :d", "", "", "", R"({":d": {"N": "5"}})"};
  EXPECT_EQ(outcome(one, true), outcome(one, false));
  EXPECT_NE(outcome(one, true).find(R"("n":{"N":"6"})"), std::string::npos);
  EXPECT_NE(outcome(five, true).find(R"("n":{"N":"10"})"), std::string::npos);
  auto s = expression_cache_stats_for_test();
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.entries, 1u);
}

// Cached or not, every request of this list gets the same answer, errors and unused-placeholder
// reports included; each is run three times through the cache (a miss, then hits) and compared
// with the parser's own answer. Requests sharing a text but not their placeholders' definitions
// or value types follow each other, so a wrong hit would show.
TEST(ExpressionCache, AnswersAsTheParserDoes) {
  clear_expression_cache_for_test();
  const std::string n1 = R"({":v": {"N": "1"}})";
  const std::string n7 = R"({":v": {"N": "7"}})";
  const std::string s1 = R"({":v": {"S": "x"}})";
  const std::vector<request_parts> requests = {
      {"SET n = n + :v", "", "", "", n1},
      {"SET n = n + :v", "", "", "", n7},
      {"SET n = n + :v", "", "", "", s1},  // a string in arithmetic: the parser's error
      {"SET n = n + :v", "", "", "", ""},  // :v undefined
      {"SET n = n + :v", "", "", "", R"({":v": {"N": "1"}, ":w": {"N": "2"}})"},  // :w unused
      {"SET #a = :v", "", "", R"({"#a": "x"})", s1},
      {"SET #a = :v", "", "", R"({"#a": "y"})", n7},
      {"SET #a = :v", "", "", R"({"#b": "y"})", n7},                      // #a undefined, #b unused
      {"SET #a = :v, #b = :v", "", "", R"({"#a": "x", "#b": "x"})", n1},  // paths overlap
      {"SET #a = :v, #b = :v", "", "", R"({"#a": "x", "#b": "y"})", n1},
      {"ADD n :v", "", "", "", n7},
      {"ADD n :v", "", "", "", s1},
      {"ADD tags :v DELETE tags :w", "", "", "", R"({":v": {"SS": ["z"]}, ":w": {"SS": ["x"]}})"},
      {"ADD tags :v DELETE tags :w", "", "", "", R"({":v": {"SS": ["q"]}, ":w": {"SS": ["y"]}})"},
      {"SET l = list_append(l, :v)", "", "", "", R"({":v": {"L": [{"S": "z"}]}})"},
      {"SET l = list_append(l, :v)", "", "", "", s1},
      {"SET c = if_not_exists(c, :v) REMOVE s", "", "", "", n7},
      {"", "n = :v", "", "", n1},
      {"", "n = :v", "", "", R"({":v": {"N": "5"}})"},
      {"", "n < :v", "", "", R"({":v": {"BOOL": true}})"},
      {"", "n BETWEEN :a AND :b", "", "", R"({":a": {"N": "1"}, ":b": {"N": "9"}})"},
      {"", "n BETWEEN :a AND :b", "", "", R"({":a": {"N": "9"}, ":b": {"N": "1"}})"},
      {"", "n BETWEEN :a AND :b", "", "", R"({":a": {"N": "1"}, ":b": {"N": "3"}})"},
      {"", "attribute_type(n, :t)", "", "", R"({":t": {"S": "N"}})"},
      {"", "attribute_type(n, :t)", "", "", R"({":t": {"S": "X"}})"},
      {"", "attribute_type(n, :t)", "", "", R"({":t": {"S": "S"}})"},
      {"", "begins_with(s, :v) AND size(l) > :w", "", "",
       R"({":v": {"S": "st"}, ":w": {"N": "1"}})"},
      {"", "begins_with(s, :v) AND size(l) > :w", "", "",
       R"({":v": {"S": "x"}, ":w": {"N": "1"}})"},
      {"", "begins_with(s, :v) AND size(l) > :w", "", "",
       R"({":v": {"N": "1"}, ":w": {"N": "1"}})"},
      {"", "#k IN (:a, :b) OR NOT attribute_exists(m.a)", "", R"({"#k": "n"})",
       R"({":a": {"N": "5"}, ":b": {"N": "6"}})"},
      {"", "#k IN (:a, :b) OR NOT attribute_exists(m.a)", "", R"({"#k": "s"})",
       R"({":a": {"N": "5"}, ":b": {"N": "6"}})"},
      {"", "(n = :a)", "", "", R"({":a": {"N": "5"}})"},
      {"", "((n = :a))", "", "", R"({":a": {"N": "5"}})"},
      {"", "", "#a, l[1], m.a", R"({"#a": "s"})", ""},
      {"", "", "#a, l[1], m.a", R"({"#a": "n"})", ""},
      {"", "", "#a, l[1], m.a", R"({"#a": "n", "#z": "q"})", ""},
      {"", "", "#a, #a.b", R"({"#a": "m"})", ""},
      {"SET n = n - :v", "n > :w", "s", "", R"({":v": {"N": "1"}, ":w": {"N": "1"}})"},
      {"SET n = n - :v", "n > :w", "s", "", R"({":v": {"N": "2"}, ":w": {"N": "9"}})"},
      {"SET n = n - :v", "n > :w", "s", "", R"({":v": {"N": "2"}})"},  // :w undefined
      {"SET n = n - :v", "attribute_exists(s)", "s", "", R"({":v": {"N": "2"}, ":w": {"N": "9"}})"},
  };
  for (int round = 0; round < 3; ++round) {
    for (const auto& r : requests) {
      SCOPED_TRACE("round " + std::to_string(round) + ": update '" + r.update + "' condition '" +
                   r.condition + "' projection '" + r.projection + "' names " + r.names +
                   " values " + r.values);
      EXPECT_EQ(outcome(r, true), outcome(r, false));
    }
  }
  EXPECT_GT(expression_cache_stats_for_test().hits, 0u);
}

// Expressions whose checks read a value's contents are parsed every time.
TEST(ExpressionCache, DoesNotKeepTreesWhoseChecksReadValues) {
  clear_expression_cache_for_test();
  (void)outcome({"", "n BETWEEN :a AND :b", "", "", R"({":a": {"N": "1"}, ":b": {"N": "9"}})"},
                true);
  (void)outcome({"", "attribute_type(n, :t)", "", "", R"({":t": {"S": "N"}})"}, true);
  EXPECT_EQ(expression_cache_stats_for_test().entries, 0u);
  (void)outcome({"", "n BETWEEN :a AND n", "", "", R"({":a": {"N": "1"}})"}, true);
  EXPECT_EQ(expression_cache_stats_for_test().entries, 1u);
}

// The cache holds at most expression_cache_capacity trees, dropping the least recently used.
TEST(ExpressionCache, StaysWithinItsCapacity) {
  clear_expression_cache_for_test();
  const std::string values = R"({":v": {"N": "1"}})";
  auto text = [](std::size_t i) { return "SET a" + std::to_string(i) + " = :v"; };
  for (std::size_t i = 0; i < expression_cache_capacity + 50; ++i)
    (void)outcome({text(i), "", "", "", values}, true);
  EXPECT_EQ(expression_cache_stats_for_test().entries, expression_cache_capacity);
  auto before = expression_cache_stats_for_test();
  (void)outcome({text(0), "", "", "", values}, true);  // dropped: parsed again
  EXPECT_EQ(expression_cache_stats_for_test().misses, before.misses + 1);
  (void)outcome({text(expression_cache_capacity + 49), "", "", "", values}, true);  // kept
  EXPECT_EQ(expression_cache_stats_for_test().hits, before.hits + 1);
}

// Each thread has its own cache: no tree is shared between request threads.
TEST(ExpressionCache, IsPerThread) {
  clear_expression_cache_for_test();
  (void)outcome({"SET n = :v", "", "", "", R"({":v": {"N": "1"}})"}, true);
  expression_cache_stats other;
  std::thread t([&] { other = expression_cache_stats_for_test(); });
  t.join();
  EXPECT_EQ(other.entries, 0u);
  EXPECT_EQ(expression_cache_stats_for_test().entries, 1u);
}

}  // namespace
}  // namespace mysfits::table::expr
