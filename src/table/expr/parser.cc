// Recursive-descent parser for DynamoDB expressions. Placeholders are resolved while parsing
// (through expression_context), and the static checks DynamoDB makes before touching an item —
// function names and arity, operand types of literals, overlapping paths — are made here, each
// with DynamoDB's message. Grammar and precedence:
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html
#include <algorithm>
#include <array>
#include <boost/json/string.hpp>
#include <cctype>
#include <set>

#include "api/api_error.h"
#include "expr/expressions.h"
#include "expr/lexer.h"
#include "expr/parse_detail.h"
#include "types/attribute_value.h"

namespace mysfits::table::expr {
namespace {

using detail::token;
using detail::token_kind;

constexpr std::size_t max_expression_size = 4096;
constexpr std::size_t max_path_depth = 32;
constexpr int max_nesting = 100;
constexpr std::size_t max_in_operands = 100;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

enum class fn_role { condition, operand, update_operand };

struct fn_spec {
  std::string_view name;
  fn_role role;
  std::size_t arity;
  bool path_first;  // first argument must be a document path
};

constexpr std::array<fn_spec, 8> functions = {{
    {"attribute_exists", fn_role::condition, 1, true},
    {"attribute_not_exists", fn_role::condition, 1, true},
    {"attribute_type", fn_role::condition, 2, false},  // a :value works too
    {"begins_with", fn_role::condition, 2, false},
    {"contains", fn_role::condition, 2, false},
    // size() also takes a :value (undocumented, but DynamoDB accepts it).
    {"size", fn_role::operand, 1, false},
    {"if_not_exists", fn_role::update_operand, 2, true},
    {"list_append", fn_role::update_operand, 2, false},
}};

const json_value* literal_of(const operand& o) { return std::get_if<json_value>(&o.v); }

class parser {
 public:
  parser(std::string_view text, expression_context& ctx, std::string_view parameter)
      : text_(text), ctx_(ctx), prefix_("Invalid " + std::string(parameter) + ": ") {
    if (text.size() > max_expression_size) {
      fail("Expression size has exceeded the maximum allowed size; expression size: " +
           std::to_string(text.size()));
    }
    toks_ = detail::tokenize(text);
    if (toks_.size() == 1) fail("The expression can not be empty;");
  }

  [[noreturn]] void fail(const std::string& msg) const {
    throw api_error::validation(prefix_ + msg);
  }

  [[noreturn]] void syntax_error() const {
    const token& t = toks_[pos_];
    const std::string tok = t.kind == token_kind::eof ? "<EOF>" : std::string(t.text);
    // DynamoDB quotes the previous, offending and next tokens as "near".
    const std::size_t from = pos_ > 0 ? toks_[pos_ - 1].pos : t.pos;
    const token& next = pos_ + 1 < toks_.size() ? toks_[pos_ + 1] : t;
    const std::size_t to = next.pos + next.text.size();
    fail("Syntax error; token: \"" + tok + "\", near: \"" +
         std::string(text_.substr(from, to - from)) + "\"");
  }

  // --- conditions ---
  condition parse_full_condition() {
    condition c = parse_or();
    expect_end();
    return c;
  }

  // --- update ---
  update parse_full_update() {
    update u;
    std::array<bool, 4> seen{};
    std::vector<path> targets;
    while (!at(token_kind::eof)) {
      if (!at(token_kind::name)) syntax_error();
      const std::string kw = upper(peek().text);
      int clause = kw == "SET" ? 0 : kw == "REMOVE" ? 1 : kw == "ADD" ? 2 : kw == "DELETE" ? 3 : -1;
      if (clause < 0) syntax_error();
      if (seen[static_cast<std::size_t>(clause)]) {
        fail("The \"" + kw + "\" section can only be used once in an update expression;");
      }
      seen[static_cast<std::size_t>(clause)] = true;
      ++pos_;
      for (;;) {
        path p = parse_path();
        targets.push_back(p);
        if (clause == 0) {
          expect(token_kind::eq);
          u.set.push_back({std::move(p), parse_set_value()});
        } else if (clause == 1) {
          u.remove.push_back(std::move(p));
        } else {
          if (!at(token_kind::value_ref)) syntax_error();
          const json_value& v = resolve_value(peek().text);
          ++pos_;
          const std::string_view t = attribute_type(v);
          if (clause == 2) {
            if (t != "N" && t != "SS" && t != "NS" && t != "BS") {
              fail(
                  "Incorrect operand type for operator or function; operator: ADD, operand "
                  "type: " +
                  type_word(t));
            }
            u.add.emplace_back(std::move(p), v);
            u.add_placeholders.emplace_back(toks_[pos_ - 1].text);
          } else {
            if (t != "SS" && t != "NS" && t != "BS") {
              fail(
                  "Incorrect operand type for operator or function; operator: DELETE, operand "
                  "type: " +
                  type_word(t));
            }
            u.del.emplace_back(std::move(p), v);
            u.del_placeholders.emplace_back(toks_[pos_ - 1].text);
          }
        }
        if (!at(token_kind::comma)) break;
        ++pos_;
      }
    }
    check_overlaps(targets);
    return u;
  }

  // --- projection ---
  projection parse_full_projection() {
    projection pr;
    for (;;) {
      pr.paths.push_back(parse_path());
      if (!at(token_kind::comma)) break;
      ++pos_;
    }
    expect_end();
    check_overlaps(pr.paths);
    return pr;
  }

  void check_overlaps(const std::vector<path>& ps) const {
    for (std::size_t i = 0; i < ps.size(); ++i) {
      for (std::size_t j = i + 1; j < ps.size(); ++j) {
        const auto& a = ps[i].elements;
        const auto& b = ps[j].elements;
        std::size_t k = 0;
        while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
        if (k == a.size() || k == b.size()) {
          fail(
              "Two document paths overlap with each other; must remove or rewrite one of these "
              "paths; path one: " +
              bracketed(ps[i]) + ", path two: " + bracketed(ps[j]));
        }
        if (a[k].index() != b[k].index()) {
          fail(
              "Two document paths conflict with each other; must remove or rewrite one of these "
              "paths; path one: " +
              bracketed(ps[i]) + ", path two: " + bracketed(ps[j]));
        }
      }
    }
  }

 private:
  static std::string bracketed(const path& p) {
    std::string out = "[";
    for (std::size_t i = 0; i < p.elements.size(); ++i) {
      if (i) out += ", ";
      if (const auto* s = std::get_if<std::string>(&p.elements[i])) {
        out += *s;
      } else {
        out += "[" + std::to_string(std::get<std::size_t>(p.elements[i])) + "]";
      }
    }
    return out + "]";
  }

  static std::string type_word(std::string_view t) {
    if (t == "S") return "STRING";
    if (t == "N") return "NUMBER";
    if (t == "B") return "BINARY";
    if (t == "BOOL") return "BOOLEAN";
    if (t == "NULL") return "NULL";
    if (t == "M") return "MAP";
    if (t == "L") return "LIST";
    return std::string(t);
  }

  const token& peek(std::size_t k = 0) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  bool at(token_kind k) const { return peek().kind == k; }
  bool at_keyword(std::string_view kw) const {
    return peek().kind == token_kind::name && iequals(peek().text, kw);
  }
  void expect(token_kind k) {
    if (!at(k)) syntax_error();
    ++pos_;
  }
  void expect_end() const {
    if (!at(token_kind::eof)) syntax_error();
  }

  const std::string& resolve_name(std::string_view ph) const {
    try {
      return ctx_.resolve_name(ph);
    } catch (const api_error& e) {
      fail(e.message());
    }
  }
  const json_value& resolve_value(std::string_view ph) const {
    try {
      return ctx_.resolve_value(ph);
    } catch (const api_error& e) {
      fail(e.message());
    }
  }

  std::string parse_name_element() {
    const token& t = peek();
    if (t.kind == token_kind::name_ref) {
      ++pos_;
      return resolve_name(t.text);
    }
    if (t.kind == token_kind::name) {
      if (is_reserved_word(t.text)) {
        fail("Attribute name is a reserved keyword; reserved keyword: " + std::string(t.text));
      }
      ++pos_;
      return std::string(t.text);
    }
    syntax_error();
  }

  path parse_path() {
    path p;
    p.elements.emplace_back(parse_name_element());
    for (;;) {
      if (at(token_kind::dot)) {
        ++pos_;
        p.elements.emplace_back(parse_name_element());
      } else if (at(token_kind::lbracket)) {
        ++pos_;
        if (!at(token_kind::number)) syntax_error();
        std::size_t index = 0;
        for (char c : peek().text) {
          index = index * 10 + static_cast<std::size_t>(c - '0');
          if (index > 1'000'000'000) syntax_error();  // far beyond any list DynamoDB can hold
        }
        ++pos_;
        expect(token_kind::rbracket);
        p.elements.emplace_back(index);
      } else {
        break;
      }
      if (p.elements.size() > max_path_depth) {
        fail("The document path has too many nesting levels; nesting levels: " +
             std::to_string(p.elements.size()));
      }
    }
    return p;
  }

  std::shared_ptr<function_call> parse_function(fn_role context) {
    auto f = std::make_shared<function_call>();
    f->name = std::string(peek().text);
    pos_ += 2;  // name and '('
    const auto* spec = std::find_if(functions.begin(), functions.end(),
                                    [&](const fn_spec& s) { return s.name == f->name; });
    if (spec == functions.end()) fail("Invalid function name; function: " + f->name);
    if (!at(token_kind::rparen)) {
      for (;;) {
        f->args.push_back(parse_operand(context == fn_role::update_operand ? fn_role::update_operand
                                                                           : fn_role::operand));
        if (!at(token_kind::comma)) break;
        ++pos_;
      }
    }
    expect(token_kind::rparen);
    return f;
  }

  // Checks a parsed call against where it appears.
  void check_function(const function_call& f, fn_role where) const {
    const auto* spec = std::find_if(functions.begin(), functions.end(),
                                    [&](const fn_spec& s) { return s.name == f.name; });
    if (spec->role != where) {
      if (where == fn_role::update_operand || spec->role == fn_role::update_operand) {
        fail("The function is not allowed in " +
             std::string(where == fn_role::update_operand ? "an update" : "a condition") +
             " expression; function: " + f.name);
      }
      fail("The function is not allowed to be used this way in an expression; function: " + f.name);
    }
    if (f.args.size() != spec->arity) {
      fail("Incorrect number of operands for operator or function; operator or function: " +
           f.name + ", number of operands: " + std::to_string(f.args.size()));
    }
    if (spec->path_first && !std::holds_alternative<path>(f.args[0].v)) {
      fail("Operator or function requires a document path; operator or function: " + f.name);
    }
    if (f.name == "size") {
      // A literal without a size, or a nested size() (a number), is an error in the query.
      std::string_view bad;
      if (const json_value* lit = literal_of(f.args[0])) {
        const std::string_view t = attribute_type(*lit);
        if (t == "N" || t == "BOOL" || t == "NULL") bad = t;
      } else if (std::holds_alternative<std::shared_ptr<const function_call>>(f.args[0].v)) {
        bad = "N";
      }
      if (!bad.empty()) {
        fail(
            "Incorrect operand type for operator or function; operator or function: size, "
            "operand type: " +
            std::string(bad));
      }
    }
    for (const auto& a : f.args) {
      const json_value* lit = literal_of(a);
      if (!lit) continue;
      const std::string_view t = attribute_type(*lit);
      if ((f.name == "begins_with" && t != "S" && t != "B") ||
          (f.name == "list_append" && t != "L")) {
        fail("Incorrect operand type for operator or function; operator or function: " + f.name +
             ", operand type: " + std::string(t));
      }
    }
    if (f.name == "attribute_type") {
      const json_value* lit = literal_of(f.args[1]);
      if (!lit || attribute_type(*lit) != "S") {
        fail(
            "Incorrect operand type for operator or function; operator or function: "
            "attribute_type, operand type: " +
            std::string(lit ? attribute_type(*lit) : "path"));
      }
      const std::string_view tn = lit->get_object().begin()->value().get_string();
      static constexpr std::array<std::string_view, 10> valid = {"S",  "SS",   "N",    "NS", "B",
                                                                 "BS", "BOOL", "NULL", "L",  "M"};
      if (std::find(valid.begin(), valid.end(), tn) == valid.end()) {
        fail("Invalid attribute type name found in type: " + std::string(tn) +
             ", valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}");
      }
    }
    for (const auto& a : f.args) {
      if (const auto* inner = std::get_if<std::shared_ptr<const function_call>>(&a.v)) {
        // DynamoDB refuses list_append nested in another function call (ScyllaDB's tests
        // record this); if_not_exists inside list_append is fine.
        if ((*inner)->name == "list_append") {
          fail(
              "The function is not allowed to be used this way in an expression; function: "
              "list_append");
        }
        check_function(**inner, where == fn_role::update_operand ? where : fn_role::operand);
      }
    }
  }

  operand parse_operand(fn_role role) {
    const token& t = peek();
    if (t.kind == token_kind::value_ref) {
      ++pos_;
      return operand{resolve_value(t.text), std::string(t.text)};
    }
    if (t.kind == token_kind::name && peek(1).kind == token_kind::lparen) {
      auto f = parse_function(role);
      return operand{std::shared_ptr<const function_call>(std::move(f))};
    }
    return operand{parse_path()};
  }

  operand parse_update_operand() {
    operand o = parse_operand(fn_role::update_operand);
    if (const auto* f = std::get_if<std::shared_ptr<const function_call>>(&o.v)) {
      check_function(**f, fn_role::update_operand);
    }
    return o;
  }

  operand parse_set_value() {
    operand lhs = parse_update_operand();
    if (!at(token_kind::plus) && !at(token_kind::minus)) return lhs;
    const char op = peek().text[0];
    ++pos_;
    operand rhs = parse_update_operand();
    for (const operand* o : {&lhs, &rhs}) {
      if (const json_value* lit = literal_of(*o); lit && attribute_type(*lit) != "N") {
        fail(std::string("Incorrect operand type for operator or function; operator or "
                         "function: ") +
             op + ", operand type: " + std::string(attribute_type(*lit)));
      }
    }
    auto a = std::make_shared<arithmetic>(arithmetic{op, std::move(lhs), std::move(rhs)});
    return operand{std::shared_ptr<const arithmetic>(std::move(a))};
  }

  struct depth_guard {
    explicit depth_guard(parser& p) : p_(p) {
      if (++p_.depth_ > max_nesting) p_.fail("The expression is nested too deeply;");
    }
    ~depth_guard() { --p_.depth_; }
    depth_guard(const depth_guard&) = delete;
    depth_guard& operator=(const depth_guard&) = delete;
    parser& p_;
  };

  static condition make_node(condition_node n) {
    return std::make_shared<const condition_node>(std::move(n));
  }

  condition parse_or() {
    depth_guard g(*this);
    condition l = parse_and();
    if (!at_keyword("OR")) return l;
    condition_node n;  // a chain of ORs is one node, so evaluation depth stays small
    n.k = condition_node::kind::or_;
    n.children.push_back(std::move(l));
    while (at_keyword("OR")) {
      ++pos_;
      n.children.push_back(parse_and());
    }
    return make_node(std::move(n));
  }

  condition parse_and() {
    condition l = parse_not();
    if (!at_keyword("AND")) return l;
    condition_node n;  // a chain of ANDs is one node, so evaluation depth stays small
    n.k = condition_node::kind::and_;
    n.children.push_back(std::move(l));
    while (at_keyword("AND")) {
      ++pos_;
      n.children.push_back(parse_not());
    }
    return make_node(std::move(n));
  }

  condition parse_not() {
    if (at_keyword("NOT")) {
      depth_guard g(*this);
      ++pos_;
      condition_node n;
      n.k = condition_node::kind::not_;
      n.children = {parse_not()};
      return make_node(std::move(n));
    }
    return parse_primary();
  }

  static bool is_comparator(token_kind k) {
    return k == token_kind::eq || k == token_kind::ne || k == token_kind::lt ||
           k == token_kind::le || k == token_kind::gt || k == token_kind::ge;
  }

  void check_operand(const operand& o) const {
    if (const auto* f = std::get_if<std::shared_ptr<const function_call>>(&o.v)) {
      check_function(**f, fn_role::operand);
    }
  }

  void check_ordered_literal(const operand& o, std::string_view op) const {
    if (const json_value* lit = literal_of(o)) {
      const std::string_view t = attribute_type(*lit);
      if (t != "S" && t != "N" && t != "B") {
        fail("Incorrect operand type for operator or function; operator or function: " +
             std::string(op) + ", operand type: " + std::string(t));
      }
    }
  }

  static std::string short_value(const json_value& v) {
    const auto& [k, inner] = *v.get_object().begin();
    std::string s = inner.is_string() ? std::string(inner.get_string()) : "…";
    return "AttributeValue: {" + std::string(k) + ":" + s + "}";
  }

  condition parse_primary() {
    if (at(token_kind::lparen)) {
      depth_guard g(*this);
      ++pos_;
      condition c = parse_or();
      expect(token_kind::rparen);
      // One pair of parentheses per level is fine; "((x))" is refused by DynamoDB (ScyllaDB's
      // DynamoDB-verified tests record this for KeyConditionExpression).
      if (parenthesized_.contains(c.get())) fail("The expression has redundant parentheses;");
      parenthesized_.insert(c.get());
      return c;
    }
    operand lhs;
    if (at(token_kind::name) && peek(1).kind == token_kind::lparen) {
      auto f = parse_function(fn_role::operand);
      const token_kind next = peek().kind;
      if (!is_comparator(next) && !at_keyword("BETWEEN") && !at_keyword("IN")) {
        check_function(*f, fn_role::condition);
        condition_node n;
        n.k = condition_node::kind::function;
        n.function = f->name;
        n.operands = f->args;
        return make_node(std::move(n));
      }
      lhs = operand{std::shared_ptr<const function_call>(std::move(f))};
    } else {
      lhs = parse_operand(fn_role::operand);
    }
    check_operand(lhs);
    condition_node n;
    const token_kind k = peek().kind;
    if (is_comparator(k)) {
      const std::string op(peek().text);
      ++pos_;
      n.k = condition_node::kind::compare;
      n.cmp = k == token_kind::eq   ? comparator::eq
              : k == token_kind::ne ? comparator::ne
              : k == token_kind::lt ? comparator::lt
              : k == token_kind::le ? comparator::le
              : k == token_kind::gt ? comparator::gt
                                    : comparator::ge;
      operand rhs = parse_operand(fn_role::operand);
      check_operand(rhs);
      if (n.cmp != comparator::eq && n.cmp != comparator::ne) {
        check_ordered_literal(lhs, op);
        check_ordered_literal(rhs, op);
      }
      // push_back, not `= {…}`: an initializer list's elements can only be copied.
      n.operands.reserve(2);
      n.operands.push_back(std::move(lhs));
      n.operands.push_back(std::move(rhs));
    } else if (at_keyword("BETWEEN")) {
      ++pos_;
      n.k = condition_node::kind::between;
      operand lo = parse_operand(fn_role::operand);
      check_operand(lo);
      if (!at_keyword("AND")) syntax_error();
      ++pos_;
      operand hi = parse_operand(fn_role::operand);
      check_operand(hi);
      for (const operand* o : {&lhs, &lo, &hi}) check_ordered_literal(*o, "BETWEEN");
      const json_value* l = literal_of(lo);
      const json_value* h = literal_of(hi);
      if (l && h) {
        auto c = compare_scalar(*l, *h);
        if (!c) {
          fail(
              "The BETWEEN operator requires same data type for lower and upper bounds; lower "
              "operand: " +
              short_value(*l) + ", upper operand: " + short_value(*h));
        }
        if (*c == std::strong_ordering::greater) {
          fail(
              "The BETWEEN operator requires upper bound to be greater than or equal to lower "
              "bound; lower operand: " +
              short_value(*l) + ", upper operand: " + short_value(*h));
        }
      }
      n.operands.reserve(3);
      n.operands.push_back(std::move(lhs));
      n.operands.push_back(std::move(lo));
      n.operands.push_back(std::move(hi));
    } else if (at_keyword("IN")) {
      ++pos_;
      n.k = condition_node::kind::in;
      expect(token_kind::lparen);
      n.operands.push_back(std::move(lhs));
      for (;;) {
        operand o = parse_operand(fn_role::operand);
        check_operand(o);
        n.operands.push_back(std::move(o));
        if (!at(token_kind::comma)) break;
        ++pos_;
      }
      expect(token_kind::rparen);
      // DynamoDB counts the left operand too: at most 99 listed values.
      if (n.operands.size() > max_in_operands) {
        fail("The IN operator is provided with too many operands; number of operands: " +
             std::to_string(n.operands.size() - 1));
      }
    } else {
      syntax_error();
    }
    return make_node(std::move(n));
  }

  std::string_view text_;
  expression_context& ctx_;
  std::string prefix_;
  std::vector<token> toks_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::set<const condition_node*> parenthesized_;  // nodes written as "( … )"
};

}  // namespace

std::string path::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (const auto* s = std::get_if<std::string>(&elements[i])) {
      if (i) out += '.';
      out += *s;
    } else {
      out += "[" + std::to_string(std::get<std::size_t>(elements[i])) + "]";
    }
  }
  return out;
}

condition parse_condition(std::string_view text, expression_context& ctx,
                          std::string_view parameter) {
  return parser(text, ctx, parameter).parse_full_condition();
}

update parse_update(std::string_view text, expression_context& ctx) {
  return parser(text, ctx, "UpdateExpression").parse_full_update();
}

projection parse_projection(std::string_view text, expression_context& ctx) {
  return parser(text, ctx, "ProjectionExpression").parse_full_projection();
}

key_condition detail::parse_key_condition_fully(std::string_view text, expression_context& ctx,
                                                const key_schema_names& schema) {
  condition c = parser(text, ctx, "KeyConditionExpression").parse_full_condition();
  return detail::to_key_condition(c, schema);
}

key_condition parse_key_condition(std::string_view text, expression_context& ctx,
                                  const key_schema_names& schema) {
  // Most Queries name the hash key alone ("k = :v"): read from the tokens, that skips building
  // and converting a condition tree (~5,000 instructions of a Query's ~65,000).
  if (auto kc = detail::simple_key_condition(text, ctx, schema)) return std::move(*kc);
  return detail::parse_key_condition_fully(text, ctx, schema);
}

}  // namespace mysfits::table::expr
