// Unit tests of ProjectionExpression parsing and projection of items.
#include <gtest/gtest.h>

#include "expr/expressions.h"
#include "test_util.h"

namespace mysfits::table::expr {
namespace {
using testing::error_of;
using testing::obj;

const boost::json::object item = obj(R"({
  "a": {"S": "x"}, "b": {"N": "1"},
  "m": {"M": {"p": {"N": "1"}, "q": {"L": [{"S": "q0"}, {"S": "q1"}, {"S": "q2"}]}}},
  "l": {"L": [{"M": {"k": {"S": "v"}, "j": {"S": "w"}}}, {"S": "second"}]}
})");

boost::json::object projected(std::string_view text, const boost::json::object* names = nullptr) {
  expression_context ctx(names, nullptr);
  return project(item, parse_projection(text, ctx));
}

// Top-level and nested paths keep their structure; list elements keep their order.
TEST(ProjectionExpression, ProjectsNestedPaths) {
  EXPECT_EQ(projected("a"), obj(R"({"a": {"S": "x"}})"));
  EXPECT_EQ(projected("a, gone, m.p"), obj(R"({"a": {"S": "x"}, "m": {"M": {"p": {"N": "1"}}}})"));
  EXPECT_EQ(projected("m.q[2], m.q[0]"),
            obj(R"({"m": {"M": {"q": {"L": [{"S": "q0"}, {"S": "q2"}]}}}})"));
  EXPECT_EQ(projected("l[0].k, l[5]"), obj(R"({"l": {"L": [{"M": {"k": {"S": "v"}}}]}})"));
  EXPECT_EQ(projected("a.nope, m.p.x"), obj("{}"));
  const auto names = obj(R"({"#b": "b"})");
  EXPECT_EQ(projected("#b", &names), obj(R"({"b": {"N": "1"}})"));
}

// Overlapping paths are rejected as DynamoDB does.
TEST(ProjectionExpression, RejectsOverlaps) {
  EXPECT_EQ(error_of([] { (void)projected("m, m.p"); }),
            "Invalid ProjectionExpression: Two document paths overlap with each other; must "
            "remove or rewrite one of these paths; path one: [m], path two: [m, p]");
  EXPECT_NE(error_of([] { (void)projected("a,"); }), "");
  EXPECT_NE(error_of([] { (void)projected("a b"); }), "");
}

}  // namespace
}  // namespace mysfits::table::expr
