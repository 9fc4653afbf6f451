// BatchGetItem and BatchWriteItem with DynamoDB's per-call limits (100 keys / 16 MB; 25 writes,
// no duplicate keys). Every request is validated before any is applied. Items are written one
// by one (each atomically), as DynamoDB does: a batch is not a transaction.
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
#include <algorithm>
#include <set>

#include "api/capacity.h"
#include "api/ops.h"
#include "api/request.h"
#include "expr/legacy.h"
#include "types/attribute_value.h"

namespace mysfits::table::api {

namespace {
constexpr std::size_t max_get_bytes = 16u * 1024 * 1024;
}

json::object batch_get_item(op_context& ctx, const json::object& req) {
  const auto& ri = get_object(req, "RequestItems");
  if (ri.empty())
    throw api_error::validation(
        "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1");
  struct table_request {
    std::shared_ptr<const storage::table_info> table;
    std::vector<std::pair<std::string, const json::value*>> keys;
    std::optional<expr::projection> projection;
    const json::object* raw;
    bool consistent = false;
  };
  auto capacity = get_return_consumed_capacity(req);
  std::vector<table_request> requests;
  std::size_t total = 0;
  for (const auto& kv : ri) {
    if (!kv.value().is_object())
      throw api_error::serialization("Unexpected value type in RequestItems");
    const auto& tr = kv.value().as_object();
    json::object name_holder{{"TableName", kv.key()}};
    table_request r;
    r.raw = &tr;
    r.table = get_table(ctx, get_table_name(name_holder));
    r.consistent = find_bool(tr, "ConsistentRead").value_or(false);
    const auto* keys = find_array(tr, "Keys");
    if (!keys || keys->empty())
      throw api_error::validation(
          "1 validation error detected: Value null at 'requestItems." + std::string(kv.key()) +
          ".member.keys' failed to satisfy constraint: Member must not be null");
    total += keys->size();
    if (total > 100)
      throw api_error::validation("Too many items requested for the BatchGetItem call");
    std::set<std::string> seen;
    for (const auto& k : *keys) {
      if (!k.is_object()) throw api_error::serialization("Unexpected value type in Keys");
      std::string pk = key_bytes_of_key(*r.table, k.as_object());
      if (!seen.insert(pk).second)
        throw api_error::validation("Provided list of item keys contains duplicates");
      r.keys.emplace_back(std::move(pk), &k);
    }
    expr::expression_context ectx(find_object(tr, "ExpressionAttributeNames"),
                                  find_object(tr, "ExpressionAttributeValues"));
    if (auto pe = find_string(tr, "ProjectionExpression")) {
      r.projection = expr::parse_projection_cached(*pe, ectx);
    } else {
      check_no_placeholders_without_expressions(tr);
      if (const auto* atg = find_array(tr, "AttributesToGet"))
        r.projection = expr::convert_attributes_to_get(*atg);
    }
    ectx.check_all_used();
    requests.push_back(std::move(r));
  }
  json::object responses;
  json::object unprocessed;
  json::array consumed;
  std::size_t bytes = 0;
  for (auto& r : requests) {
    json::array items;
    json::array left;
    consumed_capacity cc(r.table->name);
    for (auto& [pk, key] : r.keys) {
      if (bytes >= max_get_bytes) {
        left.push_back(*key);
        continue;
      }
      auto got = ctx.store.get_item(*r.table, pk);
      if (!got) throw_storage_error(got.error());
      if (*got && bytes + page_size_of(**got) > max_get_bytes) {
        // The answer stays within 16 MB: this key and every one after it are left unprocessed.
        left.push_back(*key);
        bytes = max_get_bytes;
        continue;
      }
      // Each key read counts on its own, as a GetItem would.
      cc.add_table(read_units(*got ? item_size(**got) : 0, r.consistent));
      if (!*got) continue;
      bytes += page_size_of(**got);
      items.emplace_back(r.projection ? expr::project(**got, *r.projection)
                                      : json::value(std::move(**got)));
    }
    responses[r.table->name] = std::move(items);
    if (!left.empty()) {
      json::object u = *r.raw;
      u["Keys"] = std::move(left);
      unprocessed[r.table->name] = std::move(u);
    }
    if (capacity != capacity_mode::none) consumed.emplace_back(cc.to_json(capacity));
  }
  json::object resp{{"Responses", std::move(responses)},
                    {"UnprocessedKeys", std::move(unprocessed)}};
  if (capacity != capacity_mode::none) resp["ConsumedCapacity"] = std::move(consumed);
  return resp;
}

json::object batch_write_item(op_context& ctx, const json::object& req) {
  const auto& ri = get_object(req, "RequestItems");
  if (ri.empty())
    throw api_error::validation(
        "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1");
  struct one_write {
    std::shared_ptr<const storage::table_info> table;
    std::string pk;
    const json::object* item;  // nullptr: delete
  };
  std::vector<one_write> writes;
  auto capacity = get_return_consumed_capacity(req);
  check_return_item_collection_metrics(req);
  for (const auto& kv : ri) {
    if (!kv.value().is_array())
      throw api_error::serialization("Unexpected value type in RequestItems");
    json::object name_holder{{"TableName", kv.key()}};
    auto t = get_table(ctx, get_table_name(name_holder));
    const auto& list = kv.value().as_array();
    if (list.empty() || list.size() > 25)
      throw api_error::validation(
          "1 validation error detected: Value at 'requestItems." + std::string(kv.key()) +
          "' failed to satisfy constraint: Member must have length " +
          (list.empty() ? "greater than or equal to 1" : "less than or equal to 25"));
    std::set<std::string> seen;
    for (const auto& w : list) {
      if (!w.is_object()) throw api_error::serialization("Unexpected value type in write request");
      const auto& wo = w.as_object();
      const auto* put = find_object(wo, "PutRequest");
      const auto* del = find_object(wo, "DeleteRequest");
      if ((put != nullptr) == (del != nullptr))
        throw api_error::validation(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
            "the supported datatypes");
      one_write ow{t, {}, nullptr};
      if (put) {
        ow.item = &get_object(*put, "Item");
        ow.pk = key_bytes_of_item(*t, *ow.item);
      } else {
        ow.pk = key_bytes_of_key(*t, get_object(*del, "Key"));
      }
      if (!seen.insert(ow.pk).second)
        throw api_error::validation("Provided list of item keys contains duplicates");
      writes.push_back(std::move(ow));
    }
  }
  if (writes.size() > 25)
    throw api_error::validation("Too many items requested for the BatchWriteItem call");
  std::vector<consumed_capacity> consumed;  // one per table, in the order first written
  for (const auto& w : writes) {
    auto r = ctx.store.write_item(*w.table, w.pk, [&](const json::object* old) {
      if (w.item) return storage::write_decision{storage::write_decision::action::put, *w.item};
      return storage::write_decision{
          old ? storage::write_decision::action::del : storage::write_decision::action::none, {}};
    });
    if (!r) throw_storage_error(r.error());
    if (capacity == capacity_mode::none) continue;
    auto it = std::find_if(consumed.begin(), consumed.end(),
                           [&](const consumed_capacity& c) { return c.table() == w.table->name; });
    if (it == consumed.end())
      it = consumed.insert(consumed.end(), consumed_capacity(w.table->name));
    const json::object* new_item = w.item && r->new_item ? &*r->new_item : nullptr;
    it->add_item_write(*w.table, r->old_item ? &*r->old_item : nullptr, new_item);
  }
  json::object resp{{"UnprocessedItems", json::object{}}};
  if (capacity != capacity_mode::none) {
    json::array list;
    for (const auto& c : consumed) list.emplace_back(c.to_json(capacity));
    resp["ConsumedCapacity"] = std::move(list);
  }
  return resp;
}

}  // namespace mysfits::table::api
