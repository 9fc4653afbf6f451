// expression_cache (expression_cache.h): a per-thread LRU of parsed trees keyed by the kind of
// expression, its text and its context's signature (expression_context::append_signature).
// A cached tree keeps no request's values: each literal read from a :placeholder is stored as
// null with its placeholder's name and bound again on every hit.
#include "expr/expression_cache.h"

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "expr/expressions.h"

namespace mysfits::table::expr {
namespace {

// --- trees rebuilt with their placeholder literals replaced ---------------------------------

// `leaf(placeholder)` gives the value of each literal read from a placeholder.
template <class Leaf>
operand rebind(const operand& o, const Leaf& leaf) {
  if (!o.placeholder.empty()) return operand{leaf(o.placeholder), o.placeholder};
  if (const auto* f = std::get_if<std::shared_ptr<const function_call>>(&o.v)) {
    auto c = std::make_shared<function_call>();
    c->name = (*f)->name;
    c->args.reserve((*f)->args.size());
    for (const auto& a : (*f)->args) c->args.push_back(rebind(a, leaf));
    return operand{std::shared_ptr<const function_call>(std::move(c))};
  }
  if (const auto* a = std::get_if<std::shared_ptr<const arithmetic>>(&o.v)) {
    auto c = std::make_shared<arithmetic>(
        arithmetic{(*a)->op, rebind((*a)->lhs, leaf), rebind((*a)->rhs, leaf)});
    return operand{std::shared_ptr<const arithmetic>(std::move(c))};
  }
  return o;  // a path
}

template <class Leaf>
condition rebind(const condition& c, const Leaf& leaf) {
  if (!c) return c;
  auto n = std::make_shared<condition_node>();
  n->k = c->k;
  n->cmp = c->cmp;
  n->function = c->function;
  n->constant_value = c->constant_value;
  n->operands.reserve(c->operands.size());
  for (const auto& o : c->operands) n->operands.push_back(rebind(o, leaf));
  n->children.reserve(c->children.size());
  for (const auto& ch : c->children) n->children.push_back(rebind(ch, leaf));
  return n;
}

template <class Leaf>
update rebind(const update& u, const Leaf& leaf) {
  update r;
  r.set.reserve(u.set.size());
  for (const auto& a : u.set) r.set.push_back({a.target, rebind(a.value, leaf)});
  r.remove = u.remove;
  r.add.reserve(u.add.size());
  for (std::size_t i = 0; i < u.add.size(); ++i)
    r.add.emplace_back(u.add[i].first, leaf(u.add_placeholders[i]));
  r.del.reserve(u.del.size());
  for (std::size_t i = 0; i < u.del.size(); ++i)
    r.del.emplace_back(u.del[i].first, leaf(u.del_placeholders[i]));
  r.add_placeholders = u.add_placeholders;
  r.del_placeholders = u.del_placeholders;
  return r;
}

// --- what may be cached -------------------------------------------------------------------

// Literals read from placeholders in the tree (each is bound on a hit); false when a literal
// came from elsewhere or a check read a value's contents, so the tree cannot be reused.
bool count_literals(const operand& o, std::size_t& n) {
  if (std::holds_alternative<boost::json::value>(o.v)) {
    if (o.placeholder.empty()) return false;
    ++n;
    return true;
  }
  if (const auto* f = std::get_if<std::shared_ptr<const function_call>>(&o.v)) {
    if ((*f)->name == "attribute_type") return false;
    for (const auto& a : (*f)->args)
      if (!count_literals(a, n)) return false;
    return true;
  }
  if (const auto* a = std::get_if<std::shared_ptr<const arithmetic>>(&o.v))
    return count_literals((*a)->lhs, n) && count_literals((*a)->rhs, n);
  return true;
}

bool count_literals(const condition& c, std::size_t& n) {
  if (!c) return true;
  // The parser compares two literal BETWEEN bounds and checks attribute_type's type name: both
  // read the values, which the cache's key does not hold.
  if (c->k == condition_node::kind::function && c->function == "attribute_type") return false;
  if (c->k == condition_node::kind::between && c->operands.size() == 3 &&
      std::holds_alternative<boost::json::value>(c->operands[1].v) &&
      std::holds_alternative<boost::json::value>(c->operands[2].v))
    return false;
  for (const auto& o : c->operands)
    if (!count_literals(o, n)) return false;
  for (const auto& ch : c->children)
    if (!count_literals(ch, n)) return false;
  return true;
}

bool count_literals(const update& u, std::size_t& n) {
  if (u.add_placeholders.size() != u.add.size() || u.del_placeholders.size() != u.del.size())
    return false;
  n += u.add.size() + u.del.size();
  for (const auto& a : u.set)
    if (!count_literals(a.value, n)) return false;
  return true;
}

bool count_literals(const projection&, std::size_t&) { return true; }

// --- the cache ------------------------------------------------------------------------------

using tree = std::variant<update, condition, projection>;

struct entry {
  std::string key;
  tree parsed;                     // literals null, with their placeholders
  std::vector<std::string> names;  // the #placeholders the parse resolved
};

class lru {
 public:
  const entry* find(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++stats_.misses;
      return nullptr;
    }
    ++stats_.hits;
    entries_.splice(entries_.begin(), entries_, it->second);
    return &entries_.front();
  }

  void insert(entry e) {
    if (index_.contains(e.key)) return;
    entries_.push_front(std::move(e));
    index_.emplace(entries_.front().key, entries_.begin());
    if (entries_.size() > expression_cache_capacity) {
      index_.erase(entries_.back().key);
      entries_.pop_back();
    }
  }

  expression_cache_stats stats() const {
    auto s = stats_;
    s.entries = entries_.size();
    return s;
  }

  void clear() {
    index_.clear();
    entries_.clear();
    stats_ = {};
  }

 private:
  std::list<entry> entries_;  // most recently used first; nodes never move
  std::unordered_map<std::string_view, std::list<entry>::iterator> index_;  // keys in entries_
  expression_cache_stats stats_;
};

lru& cache() {
  thread_local lru c;
  return c;
}

void append_sized(std::string& out, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(s);
}

// Clears the context's trace when the parse ends, thrown or not.
struct trace_scope {
  expression_context& ctx;
  trace_scope(expression_context& c, std::vector<std::string>& trace) : ctx(c) {
    ctx.set_trace(&trace);
  }
  ~trace_scope() { ctx.set_trace(nullptr); }
  trace_scope(const trace_scope&) = delete;
  trace_scope& operator=(const trace_scope&) = delete;
};

template <class Tree, class Parse>
Tree parse_cached(char kind, std::string_view parameter, std::string_view text,
                  expression_context& ctx, const Parse& parse) {
  thread_local std::string key;
  key.clear();
  key += kind;
  append_sized(key, parameter);
  append_sized(key, text);
  ctx.append_signature(key);
  if (key.size() > expression_cache_max_key) return parse();
  auto& c = cache();
  if (const entry* e = c.find(key)) {
    // The same names and value placeholders are defined (the key says so): these resolve.
    for (const auto& n : e->names) (void)ctx.resolve_name(n);
    auto bind = [&ctx](const std::string& ph) { return boost::json::value(ctx.resolve_value(ph)); };
    if constexpr (std::is_same_v<Tree, projection>) {
      return std::get<projection>(e->parsed);
    } else {
      return rebind(std::get<Tree>(e->parsed), bind);
    }
  }
  std::vector<std::string> trace;
  Tree t;
  {
    trace_scope scope(ctx, trace);
    t = parse();
  }
  std::size_t literals = 0;
  std::size_t values = 0;
  entry e;
  for (auto& ph : trace) {
    if (!ph.empty() && ph[0] == '#')
      e.names.push_back(std::move(ph));
    else
      ++values;
  }
  // Every value the parse resolved must be a literal the cache binds again.
  if (count_literals(t, literals) && literals == values) {
    e.key = key;
    if constexpr (std::is_same_v<Tree, projection>) {
      e.parsed = t;
    } else {
      e.parsed = rebind(t, [](const std::string&) { return boost::json::value(); });
    }
    c.insert(std::move(e));
  }
  return t;
}

}  // namespace

update parse_update_cached(std::string_view text, expression_context& ctx) {
  return parse_cached<update>('u', "UpdateExpression", text, ctx,
                              [&] { return parse_update(text, ctx); });
}

condition parse_condition_cached(std::string_view text, expression_context& ctx,
                                 std::string_view parameter) {
  return parse_cached<condition>('c', parameter, text, ctx,
                                 [&] { return parse_condition(text, ctx, parameter); });
}

projection parse_projection_cached(std::string_view text, expression_context& ctx) {
  return parse_cached<projection>('p', "ProjectionExpression", text, ctx,
                                  [&] { return parse_projection(text, ctx); });
}

expression_cache_stats expression_cache_stats_for_test() { return cache().stats(); }

void clear_expression_cache_for_test() { cache().clear(); }

}  // namespace mysfits::table::expr
