// Legacy conditional parameters → the expression trees. Attribute names here are literal
// top-level names (no document paths, no placeholders).
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/LegacyConditionalParameters.html
#include "expr/legacy.h"

#include <algorithm>
#include <array>
#include <boost/json/string.hpp>
#include <set>

#include "api/api_error.h"
#include "expr/parse_detail.h"
#include "types/attribute_value.h"

namespace mysfits::table::expr {
namespace json = boost::json;
namespace {

const std::string invalid = "One or more parameter values were invalid: ";

path top(std::string_view name) { return path{{std::string(name)}}; }

condition node(condition_node n) { return std::make_shared<const condition_node>(std::move(n)); }

condition fn(std::string name, std::vector<operand> ops) {
  condition_node n;
  n.k = condition_node::kind::function;
  n.function = std::move(name);
  n.operands = std::move(ops);
  return node(std::move(n));
}

condition cmp(std::string_view name, comparator c, const json_value& v) {
  condition_node n;
  n.k = condition_node::kind::compare;
  n.cmp = c;
  n.operands = {operand{top(name)}, operand{v}};
  return node(std::move(n));
}

// a AND b (or a OR b).
condition combine(condition_node::kind k, condition a, condition b) {
  condition_node n;
  n.k = k;
  n.children = {std::move(a), std::move(b)};
  return node(std::move(n));
}

// All `parts` joined by AND/OR as one flat node (long lists stay shallow); null when empty.
condition join(condition_node::kind k, std::vector<condition> parts) {
  if (parts.empty()) return nullptr;
  if (parts.size() == 1) return std::move(parts.front());
  condition_node n;
  n.k = k;
  n.children = std::move(parts);
  return node(std::move(n));
}

condition negate(condition c) {
  condition_node n;
  n.k = condition_node::kind::not_;
  n.children = {std::move(c)};
  return node(std::move(n));
}

const json::object& as_object(const json_value& v) {
  if (!v.is_object()) throw api_error::serialization("Unexpected value type in payload");
  return v.get_object();
}

std::string_view string_field(const json::object& o, std::string_view key) {
  const json_value* v = o.if_contains(key);
  if (!v) return {};
  if (!v->is_string()) throw api_error::serialization("Unexpected value type in payload");
  return v->get_string();
}

struct op_spec {
  std::string_view name;
  int min_args, max_args;
  bool scalar_only;  // values must be S, N or B
};
constexpr std::array<op_spec, 13> operators = {{
    {"EQ", 1, 1, false},
    {"NE", 1, 1, false},
    {"LE", 1, 1, true},
    {"LT", 1, 1, true},
    {"GE", 1, 1, true},
    {"GT", 1, 1, true},
    {"NOT_NULL", 0, 0, false},
    {"NULL", 0, 0, false},
    {"CONTAINS", 1, 1, true},
    {"NOT_CONTAINS", 1, 1, true},
    {"BEGINS_WITH", 1, 1, true},
    {"IN", 1, 1000, true},
    {"BETWEEN", 2, 2, true},
}};

// The values of one ComparisonOperator condition, validated.
std::vector<json_value> argument_list(const json::object& spec, const op_spec& op) {
  std::vector<json_value> args;
  if (const json_value* list = spec.if_contains("AttributeValueList")) {
    if (!list->is_array()) throw api_error::serialization("Unexpected value type in payload");
    for (const auto& v : list->get_array()) {
      validate_attribute_value(v);
      args.push_back(v);
    }
  }
  if (static_cast<int>(args.size()) < op.min_args || static_cast<int>(args.size()) > op.max_args) {
    throw api_error::validation(invalid + "Invalid number of argument(s) for the " +
                                std::string(op.name) + " ComparisonOperator");
  }
  for (const auto& v : args) {
    const std::string_view t = attribute_type(v);
    if (op.scalar_only && t != "S" && t != "N" && t != "B") {
      throw api_error::validation(invalid + "ComparisonOperator " + std::string(op.name) +
                                  " is not valid for " + std::string(t) + " AttributeValue type");
    }
    if (op.name == "BEGINS_WITH" && t == "N") {
      throw api_error::validation(invalid +
                                  "ComparisonOperator BEGINS_WITH is not valid for N "
                                  "AttributeValue type");
    }
  }
  if (op.name == "IN") {
    for (const auto& v : args) {
      if (attribute_type(v) != attribute_type(args.front())) {
        throw api_error::validation(invalid +
                                    "AttributeValues inside AttributeValueList must be "
                                    "of same type");
      }
    }
  }
  if (op.name == "BETWEEN") {
    auto c = compare_scalar(args[0], args[1]);
    if (!c) {
      throw api_error::validation(invalid +
                                  "AttributeValues inside AttributeValueList must be of "
                                  "same type");
    }
    if (*c == std::strong_ordering::greater) {
      throw api_error::validation(
          "The BETWEEN condition was provided a range where the lower bound is greater than the "
          "upper bound");
    }
  }
  return args;
}

const op_spec& find_operator(std::string_view name) {
  const auto* op = std::find_if(operators.begin(), operators.end(),
                                [&](const op_spec& s) { return s.name == name; });
  if (op == operators.end()) {
    throw api_error::validation(
        "1 validation error detected: Value '" + std::string(name) +
        "' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value "
        "set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, "
        "CONTAINS]");
  }
  return *op;
}

condition comparison(std::string_view name, const json::object& spec) {
  const op_spec& op = find_operator(string_field(spec, "ComparisonOperator"));
  std::vector<json_value> args = argument_list(spec, op);
  const std::string_view o = op.name;
  if (o == "EQ") return cmp(name, comparator::eq, args[0]);
  if (o == "NE") return cmp(name, comparator::ne, args[0]);
  if (o == "LE") return cmp(name, comparator::le, args[0]);
  if (o == "LT") return cmp(name, comparator::lt, args[0]);
  if (o == "GE") return cmp(name, comparator::ge, args[0]);
  if (o == "GT") return cmp(name, comparator::gt, args[0]);
  if (o == "NOT_NULL") return fn("attribute_exists", {operand{top(name)}});
  if (o == "NULL") return fn("attribute_not_exists", {operand{top(name)}});
  if (o == "CONTAINS") return fn("contains", {operand{top(name)}, operand{args[0]}});
  if (o == "NOT_CONTAINS") {
    return combine(condition_node::kind::and_, fn("attribute_exists", {operand{top(name)}}),
                   negate(fn("contains", {operand{top(name)}, operand{args[0]}})));
  }
  if (o == "BEGINS_WITH") return fn("begins_with", {operand{top(name)}, operand{args[0]}});
  condition_node n;
  n.operands.push_back(operand{top(name)});
  for (auto& a : args) n.operands.push_back(operand{std::move(a)});
  n.k = o == "IN" ? condition_node::kind::in : condition_node::kind::between;
  return node(std::move(n));
}

condition_node::kind conditional_kind(std::string_view conditional_operator) {
  if (conditional_operator.empty() || conditional_operator == "AND") {
    return condition_node::kind::and_;
  }
  if (conditional_operator == "OR") return condition_node::kind::or_;
  throw api_error::validation("1 validation error detected: Value '" +
                              std::string(conditional_operator) +
                              "' at 'conditionalOperator' failed to satisfy constraint: Member "
                              "must satisfy enum value set: [OR, AND]");
}

condition always_true() {
  condition_node n;
  n.k = condition_node::kind::constant;
  n.constant_value = true;
  return node(std::move(n));
}

}  // namespace

// DynamoDB refuses a ConditionalOperator that has no conditions to combine.
static void check_operator_has_conditions(const json::object& conditions,
                                          std::string_view conditional_operator,
                                          std::string_view parameter) {
  if (conditions.empty() && !conditional_operator.empty()) {
    throw api_error::validation(invalid + "ConditionalOperator cannot be used with an empty " +
                                std::string(parameter));
  }
}

condition convert_expected(const json::object& expected, std::string_view conditional_operator) {
  const auto k = conditional_kind(conditional_operator);
  check_operator_has_conditions(expected, conditional_operator, "Expected");
  std::vector<condition> parts;
  for (const auto& [name, v] : expected) {
    const json::object& spec = as_object(v);
    condition c;
    const json_value* value = spec.if_contains("Value");
    const json_value* exists = spec.if_contains("Exists");
    if (exists && !exists->is_bool()) throw api_error::serialization("Unexpected value type");
    if (spec.contains("ComparisonOperator")) {
      if (value || exists) {
        throw api_error::validation(invalid +
                                    "Value or Exists cannot be used with "
                                    "ComparisonOperator for Attribute: " +
                                    std::string(name));
      }
      c = comparison(name, spec);
    } else if (exists && !exists->get_bool()) {
      if (value) {
        throw api_error::validation(
            invalid +
            "Value cannot be used when Exists is false for Attribute: " + std::string(name));
      }
      c = fn("attribute_not_exists", {operand{top(name)}});
    } else {
      if (!value) {
        throw api_error::validation(
            invalid +
            "Value must be provided when Exists is true for Attribute: " + std::string(name));
      }
      validate_attribute_value(*value);
      c = cmp(name, comparator::eq, *value);
    }
    parts.push_back(std::move(c));
  }
  condition out = join(k, std::move(parts));
  return out ? out : always_true();
}

condition convert_filter(const json::object& filter, std::string_view conditional_operator) {
  const auto k = conditional_kind(conditional_operator);
  check_operator_has_conditions(filter, conditional_operator, "filter");
  std::vector<condition> parts;
  for (const auto& [name, v] : filter) parts.push_back(comparison(name, as_object(v)));
  condition out = join(k, std::move(parts));
  return out ? out : always_true();
}

update convert_attribute_updates(const json::object& attribute_updates) {
  update u;
  for (const auto& [name, v] : attribute_updates) {
    const json::object& spec = as_object(v);
    std::string_view action = string_field(spec, "Action");
    if (action.empty()) action = "PUT";
    const json_value* value = spec.if_contains("Value");
    if (value) validate_attribute_value(*value);
    const std::string_view t = value ? attribute_type(*value) : std::string_view{};
    if (action == "PUT") {
      if (!value) {
        throw api_error::validation(
            invalid + "Only DELETE action is allowed when no attribute value is specified");
      }
      u.set.push_back({top(name), operand{*value}});
    } else if (action == "DELETE") {
      if (!value) {
        u.remove.push_back(top(name));
      } else if (t != "SS" && t != "NS" && t != "BS") {
        throw api_error::validation(invalid +
                                    "DELETE action with value is not supported for the "
                                    "type " +
                                    std::string(t));
      } else {
        u.del.emplace_back(top(name), *value);
      }
    } else if (action == "ADD") {
      if (!value) {
        throw api_error::validation(
            invalid + "Only DELETE action is allowed when no attribute value is specified");
      }
      if (t != "N" && t != "SS" && t != "NS" && t != "BS" && t != "L") {
        throw api_error::validation(invalid + "ADD action is not supported for the type " +
                                    std::string(t));
      }
      u.add.emplace_back(top(name), *value);
    } else {
      throw api_error::validation("1 validation error detected: Value '" + std::string(action) +
                                  "' at 'attributeUpdates." + std::string(name) +
                                  ".member.action' failed to satisfy constraint: Member must "
                                  "satisfy enum value set: [ADD, PUT, DELETE]");
    }
  }
  return u;
}

key_condition convert_key_conditions(const json::object& key_conditions,
                                     const key_schema_names& schema) {
  std::vector<condition> parts;
  for (const auto& [name, v] : key_conditions) {
    const json::object& spec = as_object(v);
    const std::string_view op = string_field(spec, "ComparisonOperator");
    static constexpr std::array<std::string_view, 7> indexable = {
        "EQ", "LE", "LT", "GE", "GT", "BEGINS_WITH", "BETWEEN"};
    (void)find_operator(op);  // unknown names get the enum error first
    if (std::find(indexable.begin(), indexable.end(), op) == indexable.end()) {
      throw api_error::validation("Attempted conditional constraint is not an indexable operation");
    }
    parts.push_back(comparison(name, spec));
  }
  condition all = join(condition_node::kind::and_, std::move(parts));
  if (!all)
    throw api_error::validation("Query condition missed key schema element: " + schema.hash);
  return detail::to_key_condition(all, schema);
}

projection convert_attributes_to_get(const json::array& attributes) {
  projection p;
  std::set<std::string_view> seen;
  for (const auto& a : attributes) {
    if (!a.is_string()) throw api_error::serialization("Unexpected value type in payload");
    const std::string_view name = a.get_string();
    if (!seen.insert(name).second) {
      throw api_error::validation(invalid +
                                  "Duplicate value in attribute name: " + std::string(name));
    }
    p.paths.push_back(top(name));
  }
  return p;
}

}  // namespace mysfits::table::expr
