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

 private:
  std::map<std::string, std::string, std::less<>> names_;
  const boost::json::object* values_;
  std::set<std::string, std::less<>> used_names_;
  std::set<std::string, std::less<>> used_values_;
};

}  // namespace mysfits::table::expr
