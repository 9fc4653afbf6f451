// The resolved syntax trees of DynamoDB expressions: document paths, operands, conditions,
// update actions, projections and key conditions. The parser (expressions.h) and the legacy
// converters (legacy.h) build them; evaluate_condition / apply_update / project consume them.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mysfits::table::expr {

// One step of a document path: a map key (attribute name, placeholders resolved) or a list index.
using path_element = std::variant<std::string, std::size_t>;

// A document path such as a.b[2].c; elements[0] is always the top-level attribute name.
struct path {
  std::vector<path_element> elements;
  [[nodiscard]] const std::string& root() const { return std::get<std::string>(elements.front()); }
  // Text for messages ("a.b[2]").
  [[nodiscard]] std::string to_string() const;
};

struct function_call;
struct arithmetic;

// A value-producing operand: a document path, a literal (resolved :placeholder, wire form),
// a function call (size, if_not_exists, list_append) or, in SET, a + b / a - b.
struct operand {
  std::variant<path, boost::json::value, std::shared_ptr<const function_call>,
               std::shared_ptr<const arithmetic>>
      v;
  // For a literal the parser read from a :placeholder, its text (":v"): expression_cache binds
  // a cached tree to another request's values through it. Empty otherwise.
  std::string placeholder = {};
};

struct function_call {
  std::string name;  // lower-case as written: "size", "if_not_exists", "list_append", …
  std::vector<operand> args;
};

struct arithmetic {
  char op;  // '+' or '-'
  operand lhs, rhs;
};

enum class comparator { eq, ne, lt, le, gt, ge };

struct condition_node;
// A condition tree; shared so parsed expressions are cheap to copy.
using condition = std::shared_ptr<const condition_node>;

struct condition_node {
  enum class kind {
    compare,   // operands[0] cmp operands[1]
    between,   // operands[0] BETWEEN operands[1] AND operands[2]
    in,        // operands[0] IN (operands[1..])
    and_,      // all children (two or more) hold
    or_,       // any child holds
    not_,      // NOT children[0]
    function,  // fn(operands…): attribute_exists, attribute_not_exists, attribute_type,
               // begins_with, contains
    constant,  // always `constant_value` (legacy converters' empty condition)
  };
  kind k = kind::constant;
  comparator cmp = comparator::eq;
  std::string function;
  std::vector<operand> operands;
  std::vector<condition> children;
  bool constant_value = true;
};

// UpdateExpression clauses, in the order written within each clause.
struct set_action {
  path target;
  operand value;
};
struct update {
  std::vector<set_action> set;
  std::vector<path> remove;
  std::vector<std::pair<path, boost::json::value>> add;  // value: N or a set
  std::vector<std::pair<path, boost::json::value>> del;  // value: a set
  // The :placeholder each add / del value was read from, in the same order (the parser fills
  // them; legacy AttributeUpdates leave them empty). For expression_cache, as operand's.
  std::vector<std::string> add_placeholders = {};
  std::vector<std::string> del_placeholders = {};
};

// ProjectionExpression / AttributesToGet.
struct projection {
  std::vector<path> paths;
};

// KeyConditionExpression / KeyConditions, checked against the key schema.
enum class key_op { eq, lt, le, gt, ge, between, begins_with };
struct range_condition {
  key_op op = key_op::eq;
  boost::json::value v1;
  boost::json::value v2;  // BETWEEN only
};
struct key_condition {
  boost::json::value hash_value;
  std::optional<range_condition> range;
};

}  // namespace mysfits::table::expr
