// Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem. Each write parses all its
// expressions first (errors before any read), then runs its condition and change under the
// item's lock in table_store::write_item (one atomic batch).
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html
#include <boost/json/serialize.hpp>
#include <vector>

#include "api/capacity.h"
#include "api/ops.h"
#include "api/request.h"
#include "expr/legacy.h"
#include "types/attribute_value.h"
#include "types/decimal.h"

namespace mysfits::table::api {

namespace {

using storage::write_decision;

expr::expression_context make_context(const json::object& req) {
  return expr::expression_context(find_object(req, "ExpressionAttributeNames"),
                                  find_object(req, "ExpressionAttributeValues"));
}

// Counter increments of an update on a counter-merge table (issue 7): ADD of a number to a
// top-level attribute and SET a = a + :n / a - :n / :n + a, as attribute → {"N": delta}.
json::object counter_deltas(const expr::update& u, const json::object* old) {
  json::object out;
  auto numeric_or_absent = [&](const std::string& attr) {
    const auto* v = old ? old->if_contains(attr) : nullptr;
    return !v || (v->is_object() && v->as_object().contains("N"));
  };
  auto number_of = [](const expr::operand& o) -> const json::value* {
    const auto* v = std::get_if<json::value>(&o.v);
    if (!v || !v->is_object() || !v->as_object().contains("N")) return nullptr;
    return &v->as_object().at("N");
  };
  auto is_path = [](const expr::operand& o, const expr::path& target) {
    const auto* p = std::get_if<expr::path>(&o.v);
    return p && p->elements == target.elements;
  };
  for (const auto& [p, v] : u.add)
    if (p.elements.size() == 1 && v.is_object() && v.as_object().contains("N") &&
        numeric_or_absent(p.root()))
      out[p.root()] = v;
  for (const auto& a : u.set) {
    if (a.target.elements.size() != 1) continue;
    const auto* ar = std::get_if<std::shared_ptr<const expr::arithmetic>>(&a.value.v);
    if (!ar || !*ar) continue;
    const auto& arith = **ar;
    const json::value* n = nullptr;
    bool negate = false;
    if (is_path(arith.lhs, a.target)) {
      n = number_of(arith.rhs);
      negate = arith.op == '-';
    } else if (arith.op == '+' && is_path(arith.rhs, a.target)) {
      n = number_of(arith.lhs);
    }
    if (!n || !n->is_string()) continue;
    auto d = decimal::try_parse(n->as_string());
    if (!d) continue;
    out[a.target.root()] = json::object{{"N", (negate ? -*d : *d).to_string()}};
  }
  return out;
}

storage::write_outcome run_write(op_context& ctx, const storage::table_info& t,
                                 const std::string& pk, const storage::table_store::decider& d,
                                 bool consume_old = false) {
  auto r = ctx.store.write_item(t, pk, d, consume_old);
  if (!r) throw_storage_error(r.error());
  return std::move(*r);
}

// Adds ConsumedCapacity for one item write when the request asked for it.
void add_write_capacity(json::object& resp, capacity_mode mode, const storage::table_info& t,
                        const storage::write_outcome& out) {
  if (mode == capacity_mode::none) return;
  consumed_capacity cc(t.name);
  cc.add_item_write(t, out.old_item ? &*out.old_item : nullptr,
                    out.new_item ? &*out.new_item : nullptr);
  resp["ConsumedCapacity"] = cc.to_json(mode);
}

}  // namespace

json::object put_item(op_context& ctx, const json::object& req) {
  auto t = get_table(ctx, get_table_name(req));
  const auto& item = get_object(req, "Item");
  std::size_t size = 0;
  std::string pk = key_bytes_of_item(*t, item, &size);
  auto rv = get_return_values(req, {"NONE", "ALL_OLD"});
  auto capacity = get_return_consumed_capacity(req);
  check_return_item_collection_metrics(req);
  auto ectx = make_context(req);
  auto wc = parse_write_condition(req, ectx, false);
  ectx.check_all_used();
  // The request's Item is moved into the write rather than copied: nothing reads it after the
  // decision (the answer is built from the outcome), and the request object is this call's
  // (router::dispatch parses it and keeps it, with its arena, until the answer is built).
  auto& movable_item = const_cast<json::object&>(item);
  auto out = run_write(ctx, *t, pk, [&](const json::object* old) {
    check_write_condition(wc, old);
    write_decision d{write_decision::action::put, std::move(movable_item)};
    d.item_size = size;
    return d;
  });
  json::object resp;
  add_write_capacity(resp, capacity, *t, out);
  if (rv == "ALL_OLD" && out.old_item) resp["Attributes"] = std::move(*out.old_item);
  return resp;
}

json::object get_item(op_context& ctx, const json::object& req) {
  auto t = get_table(ctx, get_table_name(req));
  std::string pk = key_bytes_of_key(*t, get_object(req, "Key"));
  // Every read is consistent here; the flag only decides the capacity counted, as in DynamoDB.
  bool consistent = find_bool(req, "ConsistentRead").value_or(false);
  auto capacity = get_return_consumed_capacity(req);
  auto ectx = make_context(req);
  std::optional<expr::projection> proj;
  auto pe = find_string(req, "ProjectionExpression");
  const auto* atg = find_array(req, "AttributesToGet");
  if (pe && atg)
    throw api_error::validation(
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {AttributesToGet} Expression parameters: "
        "{ProjectionExpression}");
  if (pe) {
    proj = expr::parse_projection_cached(*pe, ectx);
  } else {
    check_no_placeholders_without_expressions(req);
    if (atg) proj = expr::convert_attributes_to_get(*atg);
  }
  ectx.check_all_used();
  if (!proj && capacity == capacity_mode::none) {
    // The whole item as stored: its JSON text goes into the answer unparsed, the bytes
    // serializing the parsed item would give (json::serialize wrote it).
    auto text = ctx.store.get_item_text(*t, pk);
    if (!text) throw_storage_error(text.error());
    if (!*text) return {};
    std::string out;
    out.reserve((*text)->size() + 10);
    out += "{\"Item\":";
    out += **text;
    out += '}';
    set_preformatted_response(std::move(out));
    return {};
  }
  auto r = ctx.store.get_item(*t, pk);
  if (!r) throw_storage_error(r.error());
  json::object resp;
  if (capacity != capacity_mode::none) {
    consumed_capacity cc(t->name);
    cc.add_table(read_units(*r ? item_size(**r) : 0, consistent));
    resp["ConsumedCapacity"] = cc.to_json(capacity);
  }
  if (*r) resp["Item"] = proj ? expr::project(**r, *proj) : std::move(**r);
  return resp;
}

json::object delete_item(op_context& ctx, const json::object& req) {
  auto t = get_table(ctx, get_table_name(req));
  std::string pk = key_bytes_of_key(*t, get_object(req, "Key"));
  auto rv = get_return_values(req, {"NONE", "ALL_OLD"});
  auto capacity = get_return_consumed_capacity(req);
  check_return_item_collection_metrics(req);
  auto ectx = make_context(req);
  auto wc = parse_write_condition(req, ectx, false);
  ectx.check_all_used();
  auto out = run_write(ctx, *t, pk, [&](const json::object* old) {
    check_write_condition(wc, old);
    return write_decision{old ? write_decision::action::del : write_decision::action::none, {}};
  });
  out.new_item.reset();  // deleted (or never there)
  json::object resp;
  add_write_capacity(resp, capacity, *t, out);
  if (rv == "ALL_OLD" && out.old_item) resp["Attributes"] = std::move(*out.old_item);
  return resp;
}

json::object update_item(op_context& ctx, const json::object& req) {
  auto t = get_table(ctx, get_table_name(req));
  const auto& key = get_object(req, "Key");
  std::string pk = key_bytes_of_key(*t, key);
  auto rv = get_return_values(req, {"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"});
  auto capacity = get_return_consumed_capacity(req);
  check_return_item_collection_metrics(req);
  auto ectx = make_context(req);
  std::optional<expr::update> upd;
  auto ue = find_string(req, "UpdateExpression");
  const auto* au = find_object(req, "AttributeUpdates");
  if (ue && au)
    throw api_error::validation(
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}");
  if (ue)
    upd = expr::parse_update_cached(*ue, ectx);
  else if (au)
    upd = expr::convert_attribute_updates(*au);
  auto keys = names_of(t->keys);
  if (upd) expr::check_update_does_not_touch_keys(*upd, keys);
  auto wc = parse_write_condition(req, ectx, ue.has_value());
  ectx.check_all_used();
  // The top-level attributes the update writes a value into (REMOVE cannot make an item
  // invalid): the only ones to validate again, the rest were valid as stored.
  std::vector<std::string_view> written;
  if (upd) {
    for (const auto& a : upd->set) written.push_back(a.target.root());
    for (const auto& [p, v] : upd->add) written.push_back(p.root());
    for (const auto& [p, v] : upd->del) written.push_back(p.root());
  }
  // Nothing in the answer needs the item as it was: the update works on the stored item itself
  // (write_item's consume_old) instead of a copy.
  const bool consume_old =
      capacity == capacity_mode::none && rv != "ALL_OLD" && rv != "UPDATED_OLD";
  auto out = run_write(
      ctx, *t, pk,
      [&](json::object* old) {
        check_write_condition(wc, old);
        json::object deltas;
        if (upd && t->is_counter_merge()) deltas = counter_deltas(*upd, old);
        // `item` is this attempt's own: an error drops it, so the update works on it in place.
        json::object item = !old          ? json::object(key)
                            : consume_old ? json::object(std::move(*old))
                                          : json::object(*old);
        if (upd) expr::apply_update_to_scratch(*upd, item, old != nullptr);
        // As PutItem: the item's validity (SET a.b = :v can nest :v too deep, SET #n = :v
        // bring a name too long), its size, index key types and lengths.
        std::size_t size = check_updated_item(*t, item, written);
        write_decision d{write_decision::action::put, std::move(item), std::move(deltas)};
        d.item_size = size;
        return d;
      },
      consume_old);
  json::object resp;
  add_write_capacity(resp, capacity, *t, out);
  // UPDATED_OLD / UPDATED_NEW hold what the update's own paths name, as DynamoDB does: after
  // SET a.b = :v, {"a": {"b": …}} rather than all of a (the paths never overlap: the parser
  // refuses that).
  auto pick = [&](const std::optional<json::object>& from) {
    json::object a;
    if (!from || !upd) return a;
    std::vector<const expr::path*> paths;
    for (const auto& s : upd->set) paths.push_back(&s.target);
    for (const auto& p : upd->remove) paths.push_back(&p);
    for (const auto& [p, v] : upd->add) paths.push_back(&p);
    for (const auto& [p, v] : upd->del) paths.push_back(&p);
    expr::projection nested;
    for (const auto* p : paths) {
      if (p->elements.size() > 1)
        nested.paths.push_back(*p);
      else if (const auto* v = from->if_contains(p->root()))
        a[p->root()] = *v;  // a whole attribute: copied as it is
    }
    if (!nested.paths.empty())
      for (auto& kv : expr::project(*from, nested)) a[kv.key()] = std::move(kv.value());
    return a;
  };
  if (rv == "ALL_OLD" && out.old_item) {
    resp["Attributes"] = std::move(*out.old_item);
  } else if (rv == "ALL_NEW" && out.new_item) {
    resp["Attributes"] = std::move(*out.new_item);
  } else if (rv == "UPDATED_OLD") {
    auto a = pick(out.old_item);
    if (!a.empty()) resp["Attributes"] = std::move(a);
  } else if (rv == "UPDATED_NEW") {
    auto a = pick(out.new_item);
    if (!a.empty()) resp["Attributes"] = std::move(a);
  }
  return resp;
}

}  // namespace mysfits::table::api
