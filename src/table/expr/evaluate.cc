// Evaluation of condition trees against an item, key range matching and projection.
// Semantics follow DynamoDB: a missing attribute or a type mismatch makes a comparison false
// (but "<>" true); nothing here throws for stored data.
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/string.hpp>
#include <map>

#include "expr/expressions.h"
#include "expr/parse_detail.h"
#include "types/attribute_value.h"
#include "types/decimal.h"

namespace mysfits::table::expr {
namespace json = boost::json;
namespace {

const json_value& inner(const json_value& v) { return v.get_object().begin()->value(); }

// A string's length as DynamoDB's size() counts it: UTF-16 code units (a character outside the
// Basic Multilingual Plane, four bytes of UTF-8, counts two), not UTF-8 bytes.
std::size_t utf16_length(std::string_view utf8) {
  std::size_t n = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) ++n;  // not a continuation byte: a character starts here
    if (c >= 0xF0) ++n;           // a 4-byte sequence: a surrogate pair in UTF-16
  }
  return n;
}

std::optional<std::size_t> size_of(const json_value& v) {
  const std::string_view t = attribute_type(v);
  const json_value& x = inner(v);
  if (t == "S") return utf16_length(x.get_string());
  if (t == "B") {
    auto d = base64_decode(x.get_string());
    return d ? std::optional<std::size_t>(d->size()) : std::nullopt;
  }
  if (t == "SS" || t == "NS" || t == "BS" || t == "L") return x.get_array().size();
  if (t == "M") return x.get_object().size();
  return std::nullopt;
}

bool begins_with(const json_value* a, const json_value* b) {
  if (!a || !b) return false;
  const std::string_view ta = attribute_type(*a);
  if (ta != attribute_type(*b)) return false;
  if (ta == "S")
    return std::string_view(inner(*a).get_string()).starts_with(inner(*b).get_string());
  if (ta == "B") {
    auto x = base64_decode(inner(*a).get_string());
    auto y = base64_decode(inner(*b).get_string());
    return x && y && x->starts_with(*y);
  }
  return false;
}

bool contains(const json_value* a, const json_value* b) {
  if (!a || !b) return false;
  const std::string_view ta = attribute_type(*a);
  const std::string_view tb = attribute_type(*b);
  if (ta == "S" && tb == "S") {
    return std::string_view(inner(*a).get_string()).find(inner(*b).get_string()) !=
           std::string_view::npos;
  }
  if (ta == "B" && tb == "B") {
    auto x = base64_decode(inner(*a).get_string());
    auto y = base64_decode(inner(*b).get_string());
    return x && y && x->find(*y) != std::string::npos;
  }
  if ((ta == "SS" && tb == "S") || (ta == "NS" && tb == "N") || (ta == "BS" && tb == "B")) {
    for (const auto& e : inner(*a).get_array()) {
      if (attribute_values_equal(json::object{{tb, e}}, *b)) return true;
    }
    return false;
  }
  if (ta == "L") {
    for (const auto& e : inner(*a).get_array()) {
      if (attribute_values_equal(e, *b)) return true;
    }
  }
  return false;
}

bool ordered(const json_value* a, const json_value* b, comparator c) {
  if (!a || !b) return false;
  auto o = compare_scalar(*a, *b);
  if (!o) return false;
  switch (c) {
    case comparator::lt:
      return *o < 0;
    case comparator::le:
      return *o <= 0;
    case comparator::gt:
      return *o > 0;
    case comparator::ge:
      return *o >= 0;
    case comparator::eq:
      return *o == 0;
    case comparator::ne:
      return *o != 0;
  }
  return false;
}

bool eval(const condition_node& n, const json::object* item) {
  using kind = condition_node::kind;
  switch (n.k) {
    case kind::constant:
      return n.constant_value;
    case kind::and_:
      return std::all_of(n.children.begin(), n.children.end(),
                         [&](const condition& c) { return eval(*c, item); });
    case kind::or_:
      return std::any_of(n.children.begin(), n.children.end(),
                         [&](const condition& c) { return eval(*c, item); });
    case kind::not_:
      return !eval(*n.children[0], item);
    default:
      break;
  }
  std::vector<json_value> scratch(n.operands.size());
  std::vector<const json_value*> v(n.operands.size());
  for (std::size_t i = 0; i < n.operands.size(); ++i) {
    v[i] = detail::operand_value(n.operands[i], item, scratch[i]);
  }
  switch (n.k) {
    case kind::compare:
      if (n.cmp == comparator::eq) return v[0] && v[1] && attribute_values_equal(*v[0], *v[1]);
      if (n.cmp == comparator::ne) return !(v[0] && v[1] && attribute_values_equal(*v[0], *v[1]));
      return ordered(v[0], v[1], n.cmp);
    case kind::between:
      return ordered(v[0], v[1], comparator::ge) && ordered(v[0], v[2], comparator::le);
    case kind::in:
      if (!v[0]) return false;
      for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i] && attribute_values_equal(*v[0], *v[i])) return true;
      }
      return false;
    case kind::function:
      if (n.function == "attribute_exists") return v[0] != nullptr;
      if (n.function == "attribute_not_exists") return v[0] == nullptr;
      if (n.function == "attribute_type") {
        return v[0] && v[1] && attribute_type(*v[0]) == std::string_view(inner(*v[1]).get_string());
      }
      if (n.function == "begins_with") return begins_with(v[0], v[1]);
      if (n.function == "contains") return contains(v[0], v[1]);
      return false;
    default:
      return false;
  }
}

// Which parts of a value a projection keeps.
struct projection_tree {
  bool whole = false;
  std::map<std::string, projection_tree> names;
  std::map<std::size_t, projection_tree> indexes;
};

std::optional<json_value> project_value(const json_value& v, const projection_tree& t) {
  if (t.whole) return v;
  const std::string_view type = attribute_type(v);
  if (type == "M" && !t.names.empty()) {
    json::object out;
    for (const auto& [name, sub] : t.names) {
      if (const auto* e = inner(v).get_object().if_contains(name)) {
        if (auto pv = project_value(*e, sub)) out[name] = std::move(*pv);
      }
    }
    if (out.empty()) return std::nullopt;
    return json::object{{"M", std::move(out)}};
  }
  if (type == "L" && !t.indexes.empty()) {
    json::array out;
    const auto& list = inner(v).get_array();
    for (const auto& [index, sub] : t.indexes) {
      if (index < list.size()) {
        if (auto pv = project_value(list[index], sub)) out.push_back(std::move(*pv));
      }
    }
    if (out.empty()) return std::nullopt;
    return json::object{{"L", std::move(out)}};
  }
  return std::nullopt;
}

}  // namespace

namespace detail {

const json_value* operand_value(const operand& o, const json::object* item, json_value& scratch) {
  if (const auto* p = std::get_if<path>(&o.v)) return item ? find_path(*item, *p) : nullptr;
  if (const auto* lit = std::get_if<json_value>(&o.v)) return lit;
  if (const auto* f = std::get_if<std::shared_ptr<const function_call>>(&o.v)) {
    if ((*f)->name == "size") {
      json_value tmp;
      const json_value* arg = operand_value((*f)->args[0], item, tmp);
      if (!arg) return nullptr;
      auto n = size_of(*arg);
      if (!n) return nullptr;
      scratch = json::object{{"N", std::to_string(*n)}};
      return &scratch;
    }
  }
  return nullptr;  // update-only operands never reach conditions
}

}  // namespace detail

const json_value* find_path(const json::object& item, const path& p) {
  const json_value* cur = item.if_contains(p.root());
  for (std::size_t i = 1; cur && i < p.elements.size(); ++i) {
    const std::string_view t = attribute_type(*cur);
    if (const auto* name = std::get_if<std::string>(&p.elements[i])) {
      cur = t == "M" ? inner(*cur).get_object().if_contains(*name) : nullptr;
    } else {
      const std::size_t index = std::get<std::size_t>(p.elements[i]);
      if (t != "L" || index >= inner(*cur).get_array().size()) return nullptr;
      cur = &inner(*cur).get_array()[index];
    }
  }
  return cur;
}

bool evaluate_condition(const condition& c, const json::object* item) {
  return !c || eval(*c, item);
}

bool matches_range(const range_condition& rc, const json_value& value) {
  switch (rc.op) {
    case key_op::eq:
      return attribute_values_equal(value, rc.v1);
    case key_op::lt:
      return ordered(&value, &rc.v1, comparator::lt);
    case key_op::le:
      return ordered(&value, &rc.v1, comparator::le);
    case key_op::gt:
      return ordered(&value, &rc.v1, comparator::gt);
    case key_op::ge:
      return ordered(&value, &rc.v1, comparator::ge);
    case key_op::between:
      return ordered(&value, &rc.v1, comparator::ge) && ordered(&value, &rc.v2, comparator::le);
    case key_op::begins_with:
      return begins_with(&value, &rc.v1);
  }
  return false;
}

json::object project(const json::object& item, const projection& p) {
  std::map<std::string, projection_tree> roots;
  for (const auto& pa : p.paths) {
    projection_tree* t = &roots[pa.root()];
    for (std::size_t i = 1; i < pa.elements.size() && !t->whole; ++i) {
      if (const auto* name = std::get_if<std::string>(&pa.elements[i])) {
        t = &t->names[*name];
      } else {
        t = &t->indexes[std::get<std::size_t>(pa.elements[i])];
      }
    }
    *t = projection_tree{};
    t->whole = true;
  }
  json::object out;
  for (const auto& [name, t] : roots) {
    if (const auto* v = item.if_contains(name)) {
      if (auto pv = project_value(*v, t)) out[name] = std::move(*pv);
    }
  }
  return out;
}

}  // namespace mysfits::table::expr
