// KeyConditionExpression / KeyConditions checks: a condition tree becomes {hash value, optional
// range condition}, with DynamoDB's messages for everything a Query key condition cannot be.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.KeyConditionExpressions.html
#include <optional>

#include "api/api_error.h"
#include "expr/lexer.h"
#include "expr/parse_detail.h"
#include "types/attribute_value.h"

namespace mysfits::table::expr::detail {
namespace {

const std::string prefix = "Invalid KeyConditionExpression: ";

void collect(const condition& c, std::vector<const condition_node*>& out) {
  if (c->k == condition_node::kind::and_) {
    for (const auto& ch : c->children) collect(ch, out);
  } else {
    out.push_back(c.get());
  }
}

struct key_predicate {
  const path* p = nullptr;
  range_condition rc;
};

key_op flip(key_op op) {
  switch (op) {
    case key_op::lt:
      return key_op::gt;
    case key_op::le:
      return key_op::ge;
    case key_op::gt:
      return key_op::lt;
    case key_op::ge:
      return key_op::le;
    default:
      return op;
  }
}

key_predicate to_predicate(const condition_node& n) {
  using kind = condition_node::kind;
  auto invalid_op = [](const std::string& op) {
    throw api_error::validation(prefix + "Invalid operator used in KeyConditionExpression: " + op);
  };
  key_predicate kp;
  switch (n.k) {
    case kind::or_:
      invalid_op("OR");
    case kind::not_:
      invalid_op("NOT");
    case kind::in:
      invalid_op("IN");
    case kind::constant:
      invalid_op("constant");
    case kind::and_:
      break;  // flattened by collect()
    case kind::function:
      if (n.function != "begins_with") invalid_op(n.function);
      kp.rc.op = key_op::begins_with;
      break;
    case kind::between:
      kp.rc.op = key_op::between;
      break;
    case kind::compare:
      switch (n.cmp) {
        case comparator::eq:
          kp.rc.op = key_op::eq;
          break;
        case comparator::ne:
          invalid_op("<>");
        case comparator::lt:
          kp.rc.op = key_op::lt;
          break;
        case comparator::le:
          kp.rc.op = key_op::le;
          break;
        case comparator::gt:
          kp.rc.op = key_op::gt;
          break;
        case comparator::ge:
          kp.rc.op = key_op::ge;
          break;
      }
      break;
  }
  const auto& ops = n.operands;
  std::size_t path_at = 0;
  if (n.k == kind::compare && !std::holds_alternative<path>(ops[0].v) &&
      std::holds_alternative<path>(ops[1].v)) {
    path_at = 1;  // ":v = k" is accepted as "k = :v"
    kp.rc.op = flip(kp.rc.op);
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (i == path_at) {
      kp.p = std::get_if<path>(&ops[i].v);
      if (!kp.p) {
        throw api_error::validation(prefix + "Invalid condition in KeyConditionExpression: " +
                                    "the condition must name a key attribute");
      }
      if (kp.p->elements.size() != 1) {
        throw api_error::validation(
            prefix + "KeyConditionExpressions cannot have conditions on nested attributes");
      }
    } else {
      const auto* v = std::get_if<json_value>(&ops[i].v);
      if (!v) {
        throw api_error::validation(prefix +
                                    "KeyConditionExpressions must only contain one condition per "
                                    "key");
      }
      (i == (path_at == 0 ? 1u : 0u) ? kp.rc.v1 : kp.rc.v2) = *v;
    }
  }
  return kp;
}

void check_type(const json_value& v, const std::string& type) {
  if (!type.empty() && attribute_type(v) != type) {
    throw api_error::validation(
        "One or more parameter values were invalid: Condition parameter type does not match "
        "schema type");
  }
}

}  // namespace

std::optional<key_condition> simple_key_condition(std::string_view text, expression_context& ctx,
                                                  const key_schema_names& schema) {
  if (text.size() > 256) return std::nullopt;
  const auto toks = tokenize(text);
  if (toks.size() != 4 || toks[1].kind != token_kind::eq || toks[2].kind != token_kind::value_ref ||
      toks[3].kind != token_kind::eof)
    return std::nullopt;
  try {
    if (toks[0].kind == token_kind::name) {
      if (toks[0].text != schema.hash || is_reserved_word(toks[0].text)) return std::nullopt;
    } else if (toks[0].kind != token_kind::name_ref ||
               ctx.resolve_name(toks[0].text) != schema.hash) {
      return std::nullopt;
    }
    const json_value& v = ctx.resolve_value(toks[2].text);
    if (!schema.hash_type.empty() && attribute_type(v) != schema.hash_type) return std::nullopt;
    key_condition kc;
    kc.hash_value = v;
    return kc;
  } catch (const std::exception&) {
    return std::nullopt;  // an undefined placeholder: the full parser says so
  }
}

key_condition to_key_condition(const condition& c, const key_schema_names& schema) {
  std::vector<const condition_node*> nodes;
  collect(c, nodes);
  std::optional<key_predicate> hash, range;
  bool other = false;
  for (const auto* n : nodes) {
    key_predicate kp = to_predicate(*n);
    const std::string& name = kp.p->root();
    std::optional<key_predicate>* slot = nullptr;
    if (name == schema.hash) {
      slot = &hash;
    } else if (schema.range && name == *schema.range) {
      slot = &range;
    } else {
      other = true;
      continue;
    }
    if (slot->has_value()) {
      // DynamoDB sends this one without the "Invalid KeyConditionExpression:" prefix.
      throw api_error::validation(
          "KeyConditionExpressions must only contain one condition per key");
    }
    *slot = std::move(kp);
  }
  if (!hash)
    throw api_error::validation("Query condition missed key schema element: " + schema.hash);
  if (other || nodes.size() > 2) throw api_error::validation("Query key condition not supported");
  if (hash->rc.op != key_op::eq) throw api_error::validation("Query key condition not supported");
  check_type(hash->rc.v1, schema.hash_type);
  key_condition kc;
  kc.hash_value = std::move(hash->rc.v1);
  if (range) {
    check_type(range->rc.v1, schema.range_type);
    if (range->rc.op == key_op::between) check_type(range->rc.v2, schema.range_type);
    if (range->rc.op == key_op::begins_with && attribute_type(range->rc.v1) == "N") {
      throw api_error::validation(prefix +
                                  "Incorrect operand type for operator or function; operator or "
                                  "function: begins_with, operand type: N");
    }
    kc.range = std::move(range->rc);
  }
  return kc;
}

}  // namespace mysfits::table::expr::detail
