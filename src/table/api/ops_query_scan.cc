// Query and Scan: key-ordered reads over the table or one of its indexes, with key conditions,
// filters, projections, Select, Limit, ExclusiveStartKey / LastEvaluatedKey, the 1 MB page
// limit, and Scan's parallel segments.
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html
#include <algorithm>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "api/capacity.h"
#include "api/ops.h"
#include "api/request.h"
#include "expr/legacy.h"
#include "types/attribute_value.h"
#include "types/key_codec.h"

namespace mysfits::table::api {

namespace {

constexpr std::size_t page_limit_bytes = 1024 * 1024;

using storage::index_info;
using storage::key_schema;
using storage::table_info;

struct read_plan {
  std::shared_ptr<const table_info> table;
  const index_info* index = nullptr;
  std::optional<expr::condition> filter;
  std::optional<expr::projection> projection;
  bool count_only = false;
  bool fetch_from_table = false;  // LSI queried for attributes it does not project
  bool whole_table_item = false;  // Select ALL_ATTRIBUTES on such an LSI: answer the table's item
  std::int64_t limit = 0;         // 0: none
  std::optional<json::object> exclusive_start_key;
  bool consistent = false;  // ConsistentRead: counts full read units instead of half
  capacity_mode capacity = capacity_mode::none;
};

const key_schema& keys_of(const read_plan& p) { return p.index ? p.index->keys : p.table->keys; }

void collect_roots(const expr::condition& c, std::set<std::string>& out);

// Whether index `i` holds attribute `name` (top level) of the table's items.
bool index_projects(const table_info& t, const index_info& i, const std::string& name) {
  if (i.projection == storage::projection_type::all) return true;
  for (const auto* ks : {&t.keys, &i.keys})
    if (name == ks->hash_name || (ks->range_name && name == *ks->range_name)) return true;
  return i.projection == storage::projection_type::include &&
         std::find(i.non_key_attributes.begin(), i.non_key_attributes.end(), name) !=
             i.non_key_attributes.end();
}

// Parses what Query and Scan share.
read_plan parse_read(op_context& ctx, const json::object& req, expr::expression_context& ectx,
                     bool is_query, bool& has_expression) {
  read_plan p;
  p.table = get_table(ctx, get_table_name(req));
  if (auto in = find_string(req, "IndexName")) {
    p.index = p.table->find_index(*in);
    if (!p.index)
      throw api_error::validation("The table does not have the specified index: " +
                                  std::string(*in));
    if (p.index->is_global && find_bool(req, "ConsistentRead").value_or(false))
      throw api_error::validation("Consistent reads are not supported on global secondary indexes");
    // DynamoDB's answer while a GSI added by UpdateTable is still being back-filled.
    if (p.index->backfilling)
      throw api_error::validation("Cannot read from backfilling global secondary index: " +
                                  p.index->name);
  }
  p.consistent = find_bool(req, "ConsistentRead").value_or(false);
  p.capacity = get_return_consumed_capacity(req);
  if (auto l = find_int(req, "Limit")) {
    if (*l < 1)
      throw api_error::validation("1 validation error detected: Value '" + std::to_string(*l) +
                                  "' at 'limit' failed to satisfy constraint: Member must have "
                                  "value greater than or equal to 1");
    p.limit = *l;
  }
  auto fe = find_string(req, "FilterExpression");
  const auto* legacy_filter = find_object(req, is_query ? "QueryFilter" : "ScanFilter");
  if (fe && legacy_filter)
    throw api_error::validation(
        std::string("Can not use both expression and non-expression parameters in the same "
                    "request: Non-expression parameters: {") +
        (is_query ? "QueryFilter" : "ScanFilter") + "} Expression parameters: {FilterExpression}");
  auto op = find_string(req, "ConditionalOperator").value_or("");
  if (fe) {
    p.filter = expr::parse_condition_cached(*fe, ectx, "FilterExpression");
    has_expression = true;
  } else if (legacy_filter) {
    p.filter = expr::convert_filter(*legacy_filter, op);
  }
  auto pe = find_string(req, "ProjectionExpression");
  const auto* atg = find_array(req, "AttributesToGet");
  if (pe && atg)
    throw api_error::validation(
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {AttributesToGet} Expression parameters: "
        "{ProjectionExpression}");
  if (pe) {
    p.projection = expr::parse_projection_cached(*pe, ectx);
    has_expression = true;
  } else if (atg) {
    p.projection = expr::convert_attributes_to_get(*atg);
  }
  auto select = find_string(req, "Select");
  if (select) {
    if (*select == "COUNT") {
      // With a projection only SPECIFIC_ATTRIBUTES is allowed (API_Query.html, Select).
      if (p.projection)
        throw api_error::validation(
            "Cannot specify the AttributesToGet when choosing to get only the Count");
      p.count_only = true;
    } else if (*select == "SPECIFIC_ATTRIBUTES") {
      if (!p.projection)
        throw api_error::validation(
            "1 validation error detected: Value 'SPECIFIC_ATTRIBUTES' at 'select' failed to "
            "satisfy constraint: Select type SPECIFIC_ATTRIBUTES requires ProjectionExpression or "
            "AttributesToGet");
    } else if (*select == "ALL_ATTRIBUTES") {
      if (p.projection)
        throw api_error::validation(
            "Cannot specify the AttributesToGet when choosing to get ALL_ATTRIBUTES");
      if (p.index && p.index->projection != storage::projection_type::all) {
        if (p.index->is_global)
          throw api_error::validation(
              "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not "
              "supported for global secondary index " +
              p.index->name + " because its projection type is not ALL");
        p.fetch_from_table = true;
        p.whole_table_item = true;
      }
    } else if (*select == "ALL_PROJECTED_ATTRIBUTES") {
      if (!p.index)
        throw api_error::validation(
            "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is "
            "supported only for index queries");
      if (p.projection)
        throw api_error::validation(
            "Cannot specify the AttributesToGet when choosing to get ALL_PROJECTED_ATTRIBUTES");
    } else {
      throw api_error::validation(
          "1 validation error detected: Value '" + std::string(*select) +
          "' at 'select' failed to satisfy constraint: Member must satisfy enum value set: "
          "[SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]");
    }
  }
  // A local secondary index fetches from the table whatever it does not project: a projection
  // or filter naming such an attribute reads the table's item (a global index cannot; those
  // attributes are simply absent).
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/LSI.html
  if (p.index && !p.index->is_global && !p.fetch_from_table) {
    std::set<std::string> named;
    if (p.projection)
      for (const auto& path : p.projection->paths) named.insert(path.root());
    if (p.filter) collect_roots(*p.filter, named);
    for (const auto& name : named)
      if (!index_projects(*p.table, *p.index, name)) p.fetch_from_table = true;
  }
  if (const auto* esk = find_object(req, "ExclusiveStartKey")) p.exclusive_start_key = *esk;
  return p;
}

// Primary-key bytes (table) or index-key + primary-key bytes (index) of a start key.
std::string start_key_bytes(const read_plan& p, const json::object& esk) {
  auto check = [&](const std::string& name, key_type type) {
    const auto* v = esk.if_contains(name);
    if (!v)
      throw api_error::validation(
          "The provided starting key is invalid: The provided key element does not match the "
          "schema");
    validate_attribute_value(*v);
    if (attribute_type(*v) != storage::key_type_name(type))
      throw api_error::validation(
          "The provided starting key is invalid: The provided key element does not match the "
          "schema");
  };
  const auto& tk = p.table->keys;
  check(tk.hash_name, tk.hash_type);
  if (tk.range_name) check(*tk.range_name, *tk.range_type);
  std::set<std::string_view> names{tk.hash_name};
  if (tk.range_name) names.insert(*tk.range_name);
  std::string out;
  if (p.index) {
    check(p.index->keys.hash_name, p.index->keys.hash_type);
    if (p.index->keys.range_name) check(*p.index->keys.range_name, *p.index->keys.range_type);
    names.insert(p.index->keys.hash_name);
    if (p.index->keys.range_name) names.insert(*p.index->keys.range_name);
    out = *storage::index_key_bytes(esk, p.index->keys);
  }
  // Exactly the key attributes: DynamoDB refuses a start key with others (say, a whole item).
  if (esk.size() != names.size())
    throw api_error::validation(
        "The provided starting key is invalid: The provided key element does not match the "
        "schema");
  out += storage::primary_key_bytes(esk, tk);
  return out;
}

struct page {
  json::array items;
  std::int64_t count = 0;
  std::int64_t scanned = 0;
  std::optional<json::object> last_key;
};

// Runs one page: visits candidates (already inside the key range) in order; `in_range` says
// whether a candidate satisfies the key condition (items outside are skipped; `stop` ends).
enum class verdict { take, skip, stop };

// The items of a page are decoded into one arena that the response is built in too: a Scan
// of a dozen items was a few hundred heap allocations to decode them and as many frees after the
// answer was written. Bounded like the page itself (the 1 MB limit counts every item read).
json::storage_ptr page_arena() {
  return json::make_shared_resource<json::monotonic_resource>(16384);
}

struct pager {
  op_context& ctx;
  const read_plan& plan;
  json::storage_ptr sp;
  page out{json::array(sp), 0, 0, std::nullopt};
  std::size_t bytes = 0;
  double fetched_units = 0;  // the table reads of an LSI query's fetches
  bool more = false;

  // Returns false to stop the scan. Takes the item over (moved into the page when it is
  // returned whole: the store's copy is not needed after the visit).
  bool offer(json::object& item) {
    ++out.scanned;
    bytes += page_size_of(item);
    bool full = (plan.limit > 0 && out.scanned >= plan.limit) || bytes >= page_limit_bytes;
    if (full) {
      json::object lk = key_of(plan.table->keys, item);
      if (plan.index)
        for (const auto& kv : key_of(plan.index->keys, item)) lk[kv.key()] = kv.value();
      out.last_key = std::move(lk);
    }
    // An LSI read for attributes it lacks: the filter and projection see the table's item.
    json::object* subject = &item;
    std::optional<json::object> whole;
    if (plan.fetch_from_table) {
      auto found =
          ctx.store.get_item(*plan.table, storage::primary_key_bytes(item, plan.table->keys));
      if (!found || !*found) return !full;  // deleted since the index entry was read
      whole = std::move(**found);
      // Each fetch is a read of the table, in 4 KB units of its own (as DynamoDB charges it).
      fetched_units += read_units(item_size(*whole), plan.consistent);
      subject = &*whole;
    }
    if (plan.filter && !expr::evaluate_condition(*plan.filter, subject)) return !full;
    ++out.count;
    if (plan.count_only) return !full;
    if (plan.projection)
      out.items.emplace_back(expr::project(*subject, *plan.projection));
    else  // the index's attributes unless ALL_ATTRIBUTES was asked for
      out.items.emplace_back(std::move(plan.whole_table_item ? *subject : item));
    return !full;
  }
};

// The page's response; read capacity counts every item read (before the filter), all of them
// together in 4 KB units, on the index when one was read, plus an LSI query's table fetches.
json::object respond(pager& pgr) {
  page& pg = pgr.out;
  bool count_only = pgr.plan.count_only;
  json::object resp(pgr.sp);
  if (pgr.plan.capacity != capacity_mode::none) {
    consumed_capacity cc(pgr.plan.table->name);
    double units = read_units(pgr.bytes, pgr.plan.consistent);
    if (pgr.plan.index)
      cc.add_index(*pgr.plan.index, units);
    else
      cc.add_table(units);
    if (pgr.fetched_units > 0) cc.add_table(pgr.fetched_units);
    resp["ConsumedCapacity"] = cc.to_json(pgr.plan.capacity);
  }
  if (!count_only) resp["Items"] = std::move(pg.items);
  resp["Count"] = pg.count;
  resp["ScannedCount"] = pg.scanned;
  if (pg.last_key) resp["LastEvaluatedKey"] = std::move(*pg.last_key);
  return resp;
}

thread_local std::optional<std::string> preformatted;

// The whole-items case of Query and Scan: nothing to evaluate or cut per item, so each item's
// stored JSON text is copied into the answer as is, never parsed: decoding a dozen items into
// objects and serializing them again was most of a Scan's cost. The page limit is checked on the
// text lengths, which are never smaller than the items' DynamoDB sizes; a page that could reach
// the limit (nullopt) is answered by the general path, which knows where to cut it.
bool whole_items(const read_plan& p) {
  return !p.filter && !p.projection && !p.count_only && !p.fetch_from_table && p.limit == 0 &&
         p.capacity == capacity_mode::none;
}

template <class Scan>
bool answer_with_texts(Scan&& scan) {
  std::string out;
  out.reserve(16384);
  out += "{\"Items\":[";
  std::size_t count = 0, bytes = 0;
  bool too_big = false;
  auto r = scan([&](std::string_view, std::string_view text) {
    bytes += text.size();
    if (bytes >= page_limit_bytes) {
      too_big = true;
      return false;
    }
    if (count > 0) out += ',';
    out += text;
    ++count;
    return true;
  });
  if (!r) throw_storage_error(r.error());
  if (too_big) return false;
  std::string n = std::to_string(count);
  out += "],\"Count\":";
  out += n;
  out += ",\"ScannedCount\":";
  out += n;
  out += '}';
  preformatted = std::move(out);
  return true;
}

void collect_roots(const expr::operand& o, std::set<std::string>& out);
void collect_roots(const expr::condition& c, std::set<std::string>& out) {
  if (!c) return;
  for (const auto& o : c->operands) collect_roots(o, out);
  for (const auto& ch : c->children) collect_roots(ch, out);
}
void collect_roots(const expr::operand& o, std::set<std::string>& out) {
  if (const auto* p = std::get_if<expr::path>(&o.v)) {
    if (!p->elements.empty()) out.insert(p->root());
  } else if (const auto* f = std::get_if<std::shared_ptr<const expr::function_call>>(&o.v)) {
    if (*f)
      for (const auto& a : (*f)->args) collect_roots(a, out);
  } else if (const auto* a = std::get_if<std::shared_ptr<const expr::arithmetic>>(&o.v)) {
    if (*a) {
      collect_roots((*a)->lhs, out);
      collect_roots((*a)->rhs, out);
    }
  }
}

// DynamoDB refuses Query filters on the key attributes of the table or index queried.
void check_filter_avoids_keys(const read_plan& p, const key_schema& ks, bool is_expression) {
  if (!p.filter) return;
  std::set<std::string> roots;
  collect_roots(*p.filter, roots);
  for (const auto* k : {&ks.hash_name, ks.range_name ? &*ks.range_name : nullptr}) {
    if (k && roots.contains(*k))
      throw api_error::validation(
          std::string(is_expression ? "Filter Expression can only contain non-primary key "
                                      "attributes: Primary key attribute: "
                                    : "QueryFilter can only contain non-key attributes: Primary "
                                      "key attribute: ") +
          *k);
  }
}

void check_key_type(const json::value& v, key_type expected) {
  if (attribute_type(v) != storage::key_type_name(expected))
    throw api_error::validation(
        "One or more parameter values were invalid: Condition parameter type does not match "
        "schema type");
}

}  // namespace

void set_preformatted_response(std::string text) { preformatted = std::move(text); }

std::optional<std::string> take_preformatted_response() {
  std::optional<std::string> out = std::move(preformatted);
  preformatted.reset();
  return out;
}

json::object query(op_context& ctx, const json::object& req) {
  auto ectx = expr::expression_context(find_object(req, "ExpressionAttributeNames"),
                                       find_object(req, "ExpressionAttributeValues"));
  bool has_expression = false;
  read_plan p = parse_read(ctx, req, ectx, true, has_expression);
  const key_schema& ks = keys_of(p);
  auto kce = find_string(req, "KeyConditionExpression");
  const auto* kc = find_object(req, "KeyConditions");
  if (kce && kc)
    throw api_error::validation(
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {KeyConditions} Expression parameters: "
        "{KeyConditionExpression}");
  if (!kce && !kc)
    throw api_error::validation(
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the "
        "request.");
  expr::key_condition cond = kce ? expr::parse_key_condition(*kce, ectx, names_of(ks))
                                 : expr::convert_key_conditions(*kc, names_of(ks));
  if (kce) has_expression = true;
  if (!has_expression) check_no_placeholders_without_expressions(req);
  ectx.check_all_used();
  check_key_type(cond.hash_value, ks.hash_type);
  if (cond.range) {
    check_key_type(cond.range->v1, *ks.range_type);
    if (cond.range->op == expr::key_op::between) {
      check_key_type(cond.range->v2, *ks.range_type);
      if (compare_scalar(cond.range->v1, cond.range->v2) == std::strong_ordering::greater)
        throw api_error::validation(
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be "
            "greater than or equal to lower bound");
    }
    if (cond.range->op == expr::key_op::begins_with && *ks.range_type == key_type::n)
      throw api_error::validation(
          "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
          "operator or function: begins_with, operand type: N");
  }
  check_filter_avoids_keys(p, ks, find_string(req, "FilterExpression").has_value());
  bool forward = find_bool(req, "ScanIndexForward").value_or(true);

  std::string prefix = storage::key_part_bytes(cond.hash_value);
  std::string lower = prefix;
  std::string upper = storage::prefix_end(prefix);
  if (cond.range) {
    auto op = cond.range->op;
    if (op == expr::key_op::eq || op == expr::key_op::ge || op == expr::key_op::gt ||
        op == expr::key_op::between || op == expr::key_op::begins_with)
      lower = prefix + storage::key_part_bytes(cond.range->v1);
  }
  if (p.exclusive_start_key) {
    std::string start = start_key_bytes(p, *p.exclusive_start_key);
    // The start key must lie inside the key condition: a cursor from another partition (or
    // outside the sort-key range) is an error, not a silent restart from the beginning.
    const auto& esk = *p.exclusive_start_key;
    if (cond.range && !expr::matches_range(*cond.range, esk.at(*ks.range_name)))
      throw api_error::validation(
          "The provided starting key does not match the range key predicate");
    if (!attribute_values_equal(esk.at(ks.hash_name), cond.hash_value))
      throw api_error::validation(
          "The provided starting key is outside query boundaries based on provided condition");
    if (forward) {
      // The smallest key after `start` (keys are prefix-free).
      std::string after = start + std::string(1, '\0');
      if (after > lower) lower = after;
    } else if (start < upper) {
      upper = start;
    }
  }
  // Whole items of one hash key: every key in [lower, upper) has that hash value (encoded hash
  // keys are prefix-free), so nothing is checked per item.
  if (whole_items(p) && !cond.range && lower < upper &&
      answer_with_texts([&](const storage::table_store::item_text_visitor& v) {
        return p.index ? ctx.store.scan_index_texts(*p.table, *p.index, lower, upper, !forward, v)
                       : ctx.store.scan_item_texts(*p.table, lower, upper, !forward, v);
      })) {
    return json::object{};
  }
  pager pg{ctx, p, page_arena()};
  bool seen = false;
  auto visit = [&](std::string_view, json::object& item) {
    const auto* hv = item.if_contains(ks.hash_name);
    if (!hv || !attribute_values_equal(*hv, cond.hash_value)) return false;
    if (cond.range) {
      const auto* rv = item.if_contains(*ks.range_name);
      bool match = rv && expr::matches_range(*cond.range, *rv);
      if (!match) {
        if (seen) return false;
        auto op = cond.range->op;
        if (forward && (op == expr::key_op::lt || op == expr::key_op::le || op == expr::key_op::eq))
          return false;
        if (!forward && (op == expr::key_op::gt || op == expr::key_op::ge)) return false;
        return true;
      }
      seen = true;
    }
    return pg.offer(item);
  };
  if (lower < upper) {
    auto r = p.index
                 ? ctx.store.scan_index(*p.table, *p.index, lower, upper, !forward, visit, pg.sp)
                 : ctx.store.scan_items(*p.table, lower, upper, !forward, visit, pg.sp);
    if (!r) throw_storage_error(r.error());
  }
  return respond(pg);
}

json::object scan(op_context& ctx, const json::object& req) {
  auto ectx = expr::expression_context(find_object(req, "ExpressionAttributeNames"),
                                       find_object(req, "ExpressionAttributeValues"));
  bool has_expression = false;
  read_plan p = parse_read(ctx, req, ectx, false, has_expression);
  if (!has_expression) check_no_placeholders_without_expressions(req);
  ectx.check_all_used();
  auto segment = find_int(req, "Segment");
  auto total = find_int(req, "TotalSegments");
  if (segment.has_value() != total.has_value())
    throw api_error::validation(
        segment ? "The TotalSegments parameter is required but was not present in the request "
                  "when Segment parameter is present"
                : "The Segment parameter is required but was not present in the request when "
                  "parameter TotalSegments is present");
  if (total) {
    if (*total < 1 || *total > 1000000)
      throw api_error::validation(
          "1 validation error detected: Value '" + std::to_string(*total) +
          "' at 'totalSegments' failed to satisfy constraint: Member must have value " +
          (*total < 1 ? "greater than or equal to 1" : "less than or equal to 1000000"));
    if (*segment < 0 || *segment >= *total)
      throw api_error::validation(
          "The Segment parameter is zero-based and must be less than "
          "parameter TotalSegments: Segment: " +
          std::to_string(*segment) + " is not less than TotalSegments: " + std::to_string(*total));
  }
  std::string lower;
  if (p.exclusive_start_key)
    lower = start_key_bytes(p, *p.exclusive_start_key) + std::string(1, '\0');
  // Segments split the items by their hash key (of the index, for an index scan), so one hash
  // key lives in one segment: FNV-1a of its encoded bytes, stable across builds and runs. The
  // stored key starts with those bytes, so a segment skips the others' items by their keys
  // without reading them.
  storage::table_store::key_filter in_segment;
  if (total && *total > 1) {
    in_segment = [seg = static_cast<std::uint64_t>(*segment),
                  n = static_cast<std::uint64_t>(*total)](std::string_view key) {
      std::string_view hash_bytes = key.substr(0, hash_prefix_size(key).value_or(key.size()));
      std::uint64_t h = 1469598103934665603ull;
      for (unsigned char ch : hash_bytes) h = (h ^ ch) * 1099511628211ull;
      return h % n == seg;
    };
  }
  if (whole_items(p) && answer_with_texts([&](const storage::table_store::item_text_visitor& v) {
        return p.index
                   ? ctx.store.scan_index_texts(*p.table, *p.index, lower, "", false, v, in_segment)
                   : ctx.store.scan_item_texts(*p.table, lower, "", false, v, in_segment);
      })) {
    return json::object{};
  }
  pager pg{ctx, p, page_arena()};
  auto visit = [&](std::string_view, json::object& item) { return pg.offer(item); };
  auto r =
      p.index ? ctx.store.scan_index(*p.table, *p.index, lower, "", false, visit, pg.sp, in_segment)
              : ctx.store.scan_items(*p.table, lower, "", false, visit, pg.sp, in_segment);
  if (!r) throw_storage_error(r.error());
  return respond(pg);
}

}  // namespace mysfits::table::api
