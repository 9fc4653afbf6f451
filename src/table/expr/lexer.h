// Tokenizer shared by every expression kind (condition, update, projection, key condition).
// Internal to expr/: the parser is its only user.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace mysfits::table::expr::detail {

enum class token_kind {
  name,       // attribute name or keyword: [A-Za-z][A-Za-z0-9_]*
  name_ref,   // #placeholder
  value_ref,  // :placeholder
  number,     // [0-9]+ (list indexes)
  lparen,
  rparen,
  lbracket,
  rbracket,
  comma,
  dot,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  plus,
  minus,
  invalid,  // any other character
  eof,
};

struct token {
  token_kind kind;
  std::string_view text;  // points into the expression
  std::size_t pos;        // byte offset
};

// Never throws for bad input: unknown characters become `invalid` tokens. Ends with `eof`.
[[nodiscard]] std::vector<token> tokenize(std::string_view text);

}  // namespace mysfits::table::expr::detail
