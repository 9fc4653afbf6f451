// expression_context: placeholder resolution and DynamoDB's unused/undefined placeholder errors.
#include "expr/expression_context.h"

#include <algorithm>
#include <boost/json/string.hpp>
#include <cstdint>

#include "api/api_error.h"
#include "types/attribute_value.h"

namespace mysfits::table::expr {
namespace {

// "#" or ":" followed by one or more of [A-Za-z0-9_]: what the expression lexer can refer to.
bool valid_placeholder(std::string_view k, char sigil) {
  if (k.size() < 2 || k[0] != sigil) return false;
  return std::all_of(k.begin() + 1, k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string join_keys(const std::set<std::string, std::less<>>& keys) {
  std::string out = "{";
  bool first = true;
  for (const auto& k : keys) {
    if (!first) out += ", ";
    first = false;
    out += k;
  }
  return out + "}";
}

}  // namespace

expression_context::expression_context(const boost::json::object* names,
                                       const boost::json::object* values)
    : values_(values) {
  if (names) {
    if (names->empty()) throw api_error::validation("ExpressionAttributeNames must not be empty");
    for (const auto& [k, v] : *names) {
      if (!valid_placeholder(k, '#')) {
        throw api_error::validation(
            "ExpressionAttributeNames contains invalid key: Syntax error; key: \"" +
            std::string(k) + "\"");
      }
      if (!v.is_string()) throw api_error::serialization("Unexpected value type in payload");
      if (v.get_string().empty()) {
        throw api_error::validation(
            "ExpressionAttributeNames contains invalid value: Empty attribute name for key " +
            std::string(k));
      }
      names_.emplace(std::string(k), name_entry{std::string(v.get_string())});
    }
  }
  if (values) {
    if (values->empty()) {
      throw api_error::validation("ExpressionAttributeValues must not be empty");
    }
    for (const auto& [k, v] : *values) {
      if (!valid_placeholder(k, ':')) {
        throw api_error::validation(
            "ExpressionAttributeValues contains invalid key: Syntax error; key: \"" +
            std::string(k) + "\"");
      }
      try {
        validate_attribute_value(v);
      } catch (const api_error& e) {
        if (e.type() != "ValidationException") throw;
        throw api_error::validation("ExpressionAttributeValues contains invalid value: " +
                                    e.message() + " for key " + std::string(k));
      }
    }
    used_values_.assign(values->size(), 0);
  }
}

const std::string& expression_context::resolve_name(std::string_view placeholder) {
  auto it = names_.find(placeholder);
  if (it == names_.end()) {
    throw api_error::validation(
        "An expression attribute name used in the document path is not "
        "defined; attribute name: " +
        std::string(placeholder));
  }
  it->second.used = true;
  if (trace_) trace_->emplace_back(placeholder);
  return it->second.name;
}

const boost::json::value& expression_context::resolve_value(std::string_view placeholder) {
  auto it = values_ ? values_->find(placeholder) : nullptr;
  if (!values_ || it == values_->end()) {
    throw api_error::validation(
        "An expression attribute value used in expression is not defined; "
        "attribute value: " +
        std::string(placeholder));
  }
  used_values_[static_cast<std::size_t>(it - values_->begin())] = 1;
  if (trace_) trace_->emplace_back(placeholder);
  return it->value();
}

namespace {
void append_sized(std::string& out, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(s);
}
}  // namespace

void expression_context::append_signature(std::string& out) const {
  const auto count = [&out](std::size_t n) {
    const auto n32 = static_cast<std::uint32_t>(n);
    out.append(reinterpret_cast<const char*>(&n32), sizeof n32);
  };
  out += '#';
  count(names_.size());
  for (const auto& [k, v] : names_) {
    append_sized(out, k);
    append_sized(out, v.name);
  }
  out += ':';
  if (!values_) return;
  count(values_->size());
  for (const auto& [k, v] : *values_) {
    append_sized(out, k);
    append_sized(out, attribute_type(v));
  }
}

void expression_context::check_all_used() const {
  std::set<std::string, std::less<>> unused;
  for (const auto& [k, v] : names_) {
    if (!v.used) unused.insert(k);
  }
  if (!unused.empty()) {
    throw api_error::validation(
        "Value provided in ExpressionAttributeNames unused in expressions: keys: " +
        join_keys(unused));
  }
  if (values_) {
    std::size_t i = 0;
    for (const auto& [k, v] : *values_) {
      if (!used_values_[i++]) unused.insert(std::string(k));
    }
  }
  if (!unused.empty()) {
    throw api_error::validation(
        "Value provided in ExpressionAttributeValues unused in expressions: keys: " +
        join_keys(unused));
  }
}

}  // namespace mysfits::table::expr
