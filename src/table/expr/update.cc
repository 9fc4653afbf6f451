// apply_update: UpdateExpression semantics. All SET values are computed from the item as it was
// before the update (as DynamoDB does), then SET, REMOVE (higher list indexes first, so indexes
// refer to the original list), ADD and DELETE are applied to a copy that replaces the item only
// when every action succeeded.
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/string.hpp>
#include <functional>
#include <set>

#include "api/api_error.h"
#include "expr/expressions.h"
#include "expr/parse_detail.h"
#include "types/attribute_value.h"
#include "types/decimal.h"

namespace mysfits::table::expr {
namespace json = boost::json;
namespace {

[[noreturn]] void bad_type() {
  throw api_error::validation("An operand in the update expression has an incorrect data type");
}
[[noreturn]] void bad_path() {
  throw api_error::validation(
      "The document path provided in the update expression is invalid for update");
}

json_value& inner(json_value& v) { return v.get_object().begin()->value(); }
const json_value& inner(const json_value& v) { return v.get_object().begin()->value(); }

// The value of a path or literal operand as it is (no copy); nullptr for any other operand.
// Throws for a path to a missing attribute.
const json_value* value_of(const operand& o, const json::object& item) {
  if (const auto* p = std::get_if<path>(&o.v)) {
    const json_value* v = find_path(item, *p);
    if (!v) {
      throw api_error::validation(
          "The provided expression refers to an attribute that does not exist in the item");
    }
    return v;
  }
  return std::get_if<json_value>(&o.v);
}

// The operand's value, allocated from `sp` (the item's storage: set_at then moves it in rather
// than copying it across resources).
json_value eval(const operand& o, const json::object& item, const json::storage_ptr& sp) {
  if (const json_value* v = value_of(o, item)) return json_value(*v, sp);
  if (const auto* a = std::get_if<std::shared_ptr<const arithmetic>>(&o.v)) {
    // Paths and literals are read in place; only nested expressions are evaluated into copies.
    json_value xs(sp), ys(sp);
    const json_value* x = value_of((*a)->lhs, item);
    if (!x) x = &(xs = eval((*a)->lhs, item, sp));
    const json_value* y = value_of((*a)->rhs, item);
    if (!y) y = &(ys = eval((*a)->rhs, item, sp));
    if (attribute_type(*x) != "N" || attribute_type(*y) != "N") bad_type();
    const decimal dx = decimal::parse(inner(*x).get_string());
    const decimal dy = decimal::parse(inner(*y).get_string());
    json::object out(sp);
    out.emplace("N", ((*a)->op == '+' ? dx + dy : dx - dy).to_string());
    return out;
  }
  const auto& f = *std::get<std::shared_ptr<const function_call>>(o.v);
  if (f.name == "if_not_exists") {
    if (const json_value* v = find_path(item, std::get<path>(f.args[0].v)))
      return json_value(*v, sp);
    return eval(f.args[1], item, sp);
  }
  if (f.name == "list_append") {
    json_value x = eval(f.args[0], item, sp);
    const json_value y = eval(f.args[1], item, sp);
    if (attribute_type(x) != "L" || attribute_type(y) != "L") bad_type();
    auto& out = inner(x).get_array();
    for (const auto& e : inner(y).get_array()) out.push_back(e);
    return x;
  }
  bad_type();  // size() and condition functions are rejected by the parser
}

// The value at the first `n` elements of `p`, or nullptr.
json_value* find_mut(json::object& item, const path& p, std::size_t n) {
  json_value* cur = item.if_contains(p.root());
  for (std::size_t i = 1; cur && i < n; ++i) {
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

void set_at(json::object& item, const path& p, json_value v) {
  if (p.elements.size() == 1) {
    item[p.root()] = std::move(v);
    return;
  }
  json_value* parent = find_mut(item, p, p.elements.size() - 1);
  if (!parent) bad_path();
  const std::string_view t = attribute_type(*parent);
  if (const auto* name = std::get_if<std::string>(&p.elements.back())) {
    if (t != "M") bad_path();
    inner(*parent).get_object()[*name] = std::move(v);
    return;
  }
  if (t != "L") bad_path();
  auto& list = inner(*parent).get_array();
  const std::size_t index = std::get<std::size_t>(p.elements.back());
  if (index >= list.size()) {
    list.push_back(std::move(v));  // past the end appends, as in DynamoDB
  } else {
    list[index] = std::move(v);
  }
}

void remove_at(json::object& item, const path& p, bool item_exists = true) {
  if (p.elements.size() == 1) {
    item.erase(p.root());
    return;
  }
  json_value* parent = find_mut(item, p, p.elements.size() - 1);
  if (!parent && !item_exists) return;  // DynamoDB's quirk: no error on a new item
  if (!parent) bad_path();
  const std::string_view t = attribute_type(*parent);
  if (const auto* name = std::get_if<std::string>(&p.elements.back())) {
    if (t != "M") bad_path();
    inner(*parent).get_object().erase(*name);
    return;
  }
  if (t != "L") bad_path();
  auto& list = inner(*parent).get_array();
  const std::size_t index = std::get<std::size_t>(p.elements.back());
  if (index < list.size()) list.erase(list.begin() + static_cast<std::ptrdiff_t>(index));
}

// The keys of a set's elements, for O(log n) membership tests.
std::set<std::string> element_keys(std::string_view set_type, const json::array& set) {
  std::set<std::string> keys;
  for (const auto& e : set) keys.insert(set_element_key(set_type, e));
  return keys;
}

void add_at(json::object& item, const path& p, const json_value& v) {
  json_value* cur = find_mut(item, p, p.elements.size());
  if (!cur) {
    set_at(item, p, v);
    return;
  }
  const std::string_view tc = attribute_type(*cur);
  const std::string_view tv = attribute_type(v);
  if (tc != tv) bad_type();
  if (tc == "N") {
    const decimal sum =
        decimal::parse(inner(*cur).get_string()) + decimal::parse(inner(v).get_string());
    inner(*cur) = sum.to_string();
  } else if (tc == "SS" || tc == "NS" || tc == "BS") {
    auto& set = inner(*cur).get_array();
    std::set<std::string> present = element_keys(tc, set);
    for (const auto& e : inner(v).get_array()) {
      if (present.insert(set_element_key(tc, e)).second) set.push_back(e);
    }
  } else if (tc == "L") {  // AttributeUpdates ADD on a list appends (legacy only)
    for (const auto& e : inner(v).get_array()) inner(*cur).get_array().push_back(e);
  } else {
    bad_type();
  }
}

void delete_at(json::object& item, const path& p, const json_value& v) {
  json_value* cur = find_mut(item, p, p.elements.size());
  if (!cur) return;
  const std::string_view tc = attribute_type(*cur);
  if (tc != attribute_type(v) || (tc != "SS" && tc != "NS" && tc != "BS")) bad_type();
  const std::set<std::string> remove = element_keys(tc, inner(v).get_array());
  auto& set = inner(*cur).get_array();
  json::array kept;
  for (const auto& e : set) {
    if (!remove.contains(set_element_key(tc, e))) kept.push_back(e);
  }
  if (kept.empty()) {
    remove_at(item, p);
  } else {
    set = std::move(kept);
  }
}

}  // namespace

void check_update_does_not_touch_keys(const update& u, const key_schema_names& keys) {
  auto check = [&](const path& p) {
    if (p.root() == keys.hash || (keys.range && p.root() == *keys.range)) {
      throw api_error::validation("Cannot update attribute " + p.root() +
                                  ". This attribute is part of the key");
    }
  };
  for (const auto& a : u.set) check(a.target);
  for (const auto& p : u.remove) check(p);
  for (const auto& [p, v] : u.add) check(p);
  for (const auto& [p, v] : u.del) check(p);
}

namespace {
// The actions applied to `target`, with every SET value computed from `before` first (`target`
// may be `before` itself: the values are copies). `changed` (if given) gets the top-level names.
void apply_actions(const update& u, const json::object& before, json::object& target,
                   bool item_exists, std::set<std::string>* changed) {
  std::vector<json_value> values;
  values.reserve(u.set.size());
  for (const auto& a : u.set) values.push_back(eval(a.value, before, target.storage()));
  // Paths never overlap (the parser checks), so applying SETs in path order changes nothing but
  // the order of appends past a list's end, which DynamoDB makes ascending by index.
  std::vector<std::size_t> order(u.set.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (order.size() > 1)
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return u.set[a].target.elements < u.set[b].target.elements;
    });
  for (std::size_t i : order) {
    set_at(target, u.set[i].target, std::move(values[i]));
    if (changed) changed->insert(u.set[i].target.root());
  }
  std::vector<const path*> removes;
  for (const auto& p : u.remove) removes.push_back(&p);
  std::sort(removes.begin(), removes.end(),
            [](const path* a, const path* b) { return a->elements > b->elements; });
  for (const path* p : removes) {
    remove_at(target, *p, item_exists);
    if (changed) changed->insert(p->root());
  }
  for (const auto& [p, v] : u.add) {
    add_at(target, p, v);
    if (changed) changed->insert(p.root());
  }
  for (const auto& [p, v] : u.del) {
    delete_at(target, p, v);
    if (changed) changed->insert(p.root());
  }
}
}  // namespace

std::set<std::string> apply_update(const update& u, json::object& item, bool item_exists) {
  json::object next = item;
  std::set<std::string> changed;
  apply_actions(u, item, next, item_exists, &changed);
  item = std::move(next);
  return changed;
}

void apply_update_to_scratch(const update& u, json::object& item, bool item_exists) {
  apply_actions(u, item, item, item_exists, nullptr);
}

}  // namespace mysfits::table::expr
