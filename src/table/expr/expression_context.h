// expression_context: the ExpressionAttributeNames / ExpressionAttributeValues of one request.
// Every expression of the request is parsed against the same context; it resolves #name and
// :value placeholders, records which were used, and check_all_used() rejects the unused ones
// with DynamoDB's messages.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mysfits::table::expr {

class expression_context {
 public:
  // Either pointer may be null (parameter absent). Values are validated here (DynamoDB reports
  // "ExpressionAttributeValues contains invalid value: … for key :v"); names must start with '#'
  // and values with ':'. Throws api_error::validation.
  expression_context(const boost::json::object* names, const boost::json::object* values);
  expression_context() : expression_context(nullptr, nullptr) {}

  // "#n" → the attribute name; throws "An expression attribute name used in the document path
  // is not defined; attribute name: #n".
  const std::string& resolve_name(std::string_view placeholder);
  // ":v" → the value; throws "An expression attribute value used in expression is not defined;
  // attribute value: :v".
  const boost::json::value& resolve_value(std::string_view placeholder);

  // Throws "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"
  // (names first, then values) if any placeholder was never resolved.
  void check_all_used() const;

  // For expression_cache. While a trace is set, every placeholder resolved is appended to it
  // (#names and :values, in the order resolved). Null: none (the default).
  void set_trace(std::vector<std::string>* trace) { trace_ = trace; }
  // Appends what an expression's parse depends on besides its text: every name placeholder with
  // its attribute name and every value placeholder with its value's type, in order. Two contexts
  // with the same signature resolve any expression's placeholders alike (the same ones defined,
  // the same names, values of the same types), which is all the parser's checks read but for
  // the contents of BETWEEN bounds and attribute_type's operand.
  void append_signature(std::string& out) const;

 private:
  struct name_entry {
    std::string name;
    bool used = false;
  };
  std::map<std::string, name_entry, std::less<>> names_;
  const boost::json::object* values_;
  // Whether each of *values_ (in its order) was resolved: flags, not a set of copied names (a
  // resolve allocated a set node).
  std::vector<char> used_values_;
  std::vector<std::string>* trace_ = nullptr;
};

}  // namespace mysfits::table::expr
