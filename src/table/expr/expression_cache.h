// expression_cache: parsed UpdateExpression / ConditionExpression (and FilterExpression) /
// ProjectionExpression trees kept per request thread, so a request whose expression was parsed
// before (the same text, ExpressionAttributeNames and value types) skips the parser: the cached
// tree is bound to this request's ExpressionAttributeValues (each literal read from a
// :placeholder takes this request's value) and its placeholders are marked used in its
// expression_context, as parsing would. Results, errors and unused-placeholder reports are the
// parser's: an expression that fails to parse is never cached (it is parsed again each time),
// and neither is one whose checks read a value's contents (BETWEEN with two literal bounds,
// attribute_type). Used by the item operations and Query / Scan (api/).
#pragma once

#include <cstddef>
#include <string_view>

#include "expr/ast.h"
#include "expr/expression_context.h"

namespace mysfits::table::expr {

// Trees kept per thread; the least recently used one goes first.
inline constexpr std::size_t expression_cache_capacity = 256;
// Longer keys (expression text plus the names and value types) are not cached.
inline constexpr std::size_t expression_cache_max_key = 8192;

// parse_update / parse_condition / parse_projection (expressions.h), through the cache.
[[nodiscard]] update parse_update_cached(std::string_view text, expression_context& ctx);
[[nodiscard]] condition parse_condition_cached(std::string_view text, expression_context& ctx,
                                               std::string_view parameter);
[[nodiscard]] projection parse_projection_cached(std::string_view text, expression_context& ctx);

// This thread's cache, for tests.
struct expression_cache_stats {
  std::size_t hits = 0;
  std::size_t misses = 0;
  std::size_t entries = 0;
};
[[nodiscard]] expression_cache_stats expression_cache_stats_for_test();
void clear_expression_cache_for_test();

}  // namespace mysfits::table::expr
