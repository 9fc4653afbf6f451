// Tokenizer for DynamoDB expressions.
#include "expr/lexer.h"

namespace mysfits::table::expr::detail {
namespace {

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::vector<token> tokenize(std::string_view s) {
  std::vector<token> out;
  std::size_t i = 0;
  auto push = [&](token_kind k, std::size_t start, std::size_t len) {
    out.push_back({k, s.substr(start, len), start});
    i = start + len;
  };
  while (i < s.size()) {
    const char c = s[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    if (c == '#' || c == ':') {
      std::size_t j = i + 1;
      while (j < s.size() && is_word_char(s[j])) ++j;
      if (j == i + 1) {
        push(token_kind::invalid, start, 1);
      } else {
        push(c == '#' ? token_kind::name_ref : token_kind::value_ref, start, j - start);
      }
      continue;
    }
    // Bare names start with a letter ("_x" and "1x" are not names to DynamoDB's lexer);
    // a run of digits is a number (list index).
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      std::size_t j = i;
      while (j < s.size() && is_word_char(s[j])) ++j;
      push(token_kind::name, start, j - start);
      continue;
    }
    if (c >= '0' && c <= '9') {
      std::size_t j = i;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
      push(token_kind::number, start, j - start);
      continue;
    }
    const char n = i + 1 < s.size() ? s[i + 1] : '\0';
    switch (c) {
      case '(':
        push(token_kind::lparen, start, 1);
        break;
      case ')':
        push(token_kind::rparen, start, 1);
        break;
      case '[':
        push(token_kind::lbracket, start, 1);
        break;
      case ']':
        push(token_kind::rbracket, start, 1);
        break;
      case ',':
        push(token_kind::comma, start, 1);
        break;
      case '.':
        push(token_kind::dot, start, 1);
        break;
      case '=':
        push(token_kind::eq, start, 1);
        break;
      case '+':
        push(token_kind::plus, start, 1);
        break;
      case '-':
        push(token_kind::minus, start, 1);
        break;
      case '<':
        if (n == '>')
          push(token_kind::ne, start, 2);
        else if (n == '=')
          push(token_kind::le, start, 2);
        else
          push(token_kind::lt, start, 1);
        break;
      case '>':
        if (n == '=')
          push(token_kind::ge, start, 2);
        else
          push(token_kind::gt, start, 1);
        break;
      default: {
        // One whole UTF-8 character, so messages quote it intact.
        std::size_t len = 1;
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0xC0) len = u >= 0xF0 ? 4 : (u >= 0xE0 ? 3 : 2);
        if (start + len > s.size()) len = s.size() - start;
        push(token_kind::invalid, start, len);
      }
    }
  }
  out.push_back({token_kind::eof, s.substr(s.size()), s.size()});
  return out;
}

}  // namespace mysfits::table::expr::detail
