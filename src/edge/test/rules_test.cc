// Tests for listener rules: path-pattern wildcards and priority order.
#include "routing/rules.h"

#include <gtest/gtest.h>

using namespace mysfits::edge;

// The workshop's rule: one segment of any mysfit id between fixed parts.
TEST(PathPattern, StarMatchesAnyRunIncludingEmpty) {
  EXPECT_TRUE(path_matches("/mysfits/*/like", "/mysfits/abc-123/like"));
  EXPECT_TRUE(path_matches("/mysfits/*/like", "/mysfits//like"));
  EXPECT_TRUE(path_matches("/mysfits/*/like", "/mysfits/a/b/like"));  // ALB: * spans '/'
  EXPECT_FALSE(path_matches("/mysfits/*/like", "/mysfits/abc/likes"));
  EXPECT_FALSE(path_matches("/mysfits/*/like", "/mysfits"));
  EXPECT_TRUE(path_matches("*", ""));
  EXPECT_TRUE(path_matches("/api/*", "/api/"));
}

// '?' is exactly one character; matching is case-sensitive.
TEST(PathPattern, QuestionMarkMatchesExactlyOneCharacter) {
  EXPECT_TRUE(path_matches("/v?/items", "/v1/items"));
  EXPECT_FALSE(path_matches("/v?/items", "/v/items"));
  EXPECT_FALSE(path_matches("/v?/items", "/v12/items"));
  EXPECT_FALSE(path_matches("/Items", "/items"));
}

// Backtracking: a later '*' must be able to retry after a partial match.
TEST(PathPattern, BacktracksAcrossRepeatedSegments) {
  EXPECT_TRUE(path_matches("*a*b", "xaybzb"));
  EXPECT_TRUE(path_matches("/a*/b*/c", "/a/b/a/b/c"));
  EXPECT_FALSE(path_matches("*a*b", "xaybzc"));
}

// Rules are evaluated lowest priority first regardless of their order in the file; no match
// falls to the default action.
TEST(RuleTable, LowestPriorityWinsAndDefaultIsLast) {
  rule_table t({{20, {"/mysfits/*"}, "broad"}, {10, {"/mysfits/*/like"}, "like"}}, "core");
  EXPECT_EQ(t.match("/mysfits/1/like"), "like");
  EXPECT_EQ(t.match("/mysfits/1"), "broad");
  EXPECT_EQ(t.match("/"), "core");
}

// A rule with several patterns matches if any does.
TEST(RuleTable, AnyPatternOfARuleMatches) {
  rule_table t({{1, {"/a", "/b/*"}, "ab"}}, "core");
  EXPECT_EQ(t.match("/b/x"), "ab");
  EXPECT_EQ(t.match("/a"), "ab");
  EXPECT_EQ(t.match("/c"), "core");
}
