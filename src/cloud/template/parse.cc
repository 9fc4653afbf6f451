// Template text → JSON: JSON templates are parsed by Boost.JSON, YAML ones by yaml-cpp, with
// CloudFormation's short-form tags expanded to their long forms.
#include <yaml-cpp/yaml.h>

#include <boost/json/parse.hpp>
#include <regex>

#include "mysfits/cloud/template.h"

namespace mysfits::cloud {
namespace json = boost::json;

namespace {

// Scalar conversion for plain (unquoted) YAML scalars, following YAML 1.1 core names that
// CloudFormation accepts.
json::value plain_scalar(const std::string& s) {
  static const std::regex integer(R"([-+]?[0-9]+)");
  static const std::regex floating(R"([-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)");
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "~" || s == "null" || s == "Null" || s == "NULL" || s.empty()) return nullptr;
  if (std::regex_match(s, integer) && s.size() < 18) return std::stoll(s);
  if (std::regex_match(s, floating)) return std::stod(s);
  return json::string(s);
}

json::value to_json(const YAML::Node& node, int depth, bool honour_tag = true);

json::value expand_tag(const std::string& tag, const YAML::Node& node, int depth) {
  std::string fn = tag.substr(1);  // drop the "!"
  json::value inner = to_json(node, depth + 1, /*honour_tag=*/false);
  // A tagged scalar is always a string in CloudFormation (e.g. !Ref 8080 names "8080").
  if (node.IsScalar()) inner = json::string(node.Scalar());
  if (fn == "Ref") return json::object{{"Ref", inner}};
  if (fn == "Condition") return json::object{{"Condition", inner}};
  if (fn == "GetAtt" && inner.is_string()) {
    // !GetAtt Resource.Attribute.Maybe.Dotted → ["Resource", "Attribute.Maybe.Dotted"]
    std::string s(inner.as_string());
    auto dot = s.find('.');
    if (dot == std::string::npos) {
      throw std::runtime_error("Template error: !GetAtt " + s + " must be Resource.Attribute");
    }
    inner = json::array{json::string(s.substr(0, dot)), json::string(s.substr(dot + 1))};
  }
  static const char* known[] = {"Base64",    "Cidr",   "Equals",      "FindInMap", "GetAtt",
                                "GetAZs",    "If",     "ImportValue", "Join",      "Not",
                                "And",       "Or",     "Select",      "Split",     "Sub",
                                "Transform", "Length", "ToJsonString"};
  for (const char* k : known) {
    if (fn == k) return json::object{{"Fn::" + fn, inner}};
  }
  throw std::runtime_error("Template format error: unknown tag !" + fn);
}

json::value to_json(const YAML::Node& node, int depth, bool honour_tag) {
  if (depth > 200) throw std::runtime_error("Template format error: nesting too deep");
  const std::string& tag = node.Tag();
  if (honour_tag && !tag.empty() && tag[0] == '!' && tag != "!")
    return expand_tag(tag, node, depth);
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // yaml-cpp tags quoted scalars "!" and plain ones "?".
      if (tag == "!") return json::string(node.Scalar());
      return plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      json::array a;
      for (const auto& child : node) a.push_back(to_json(child, depth + 1));
      return a;
    }
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : node) {
        auto key = kv.first.Scalar();
        if (o.contains(key)) {
          throw std::runtime_error("Template format error: duplicate key '" + key + "'");
        }
        o[key] = to_json(kv.second, depth + 1);
      }
      return o;
    }
  }
  return nullptr;
}

}  // namespace

result<json::object> parse_template(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec)
      return error::invalid_argument("Template format error: JSON not well-formed: " +
                                     ec.message());
    if (!v.is_object()) return error::invalid_argument("Template format error: not a JSON object");
    return std::move(v.as_object());
  }
  try {
    auto root = YAML::Load(std::string(text));
    auto v = to_json(root, 0);
    if (!v.is_object()) {
      return error::invalid_argument("Template format error: a template is a YAML mapping");
    }
    return std::move(v.as_object());
  } catch (const YAML::Exception& e) {
    return error::invalid_argument(std::string("Template format error: YAML not well-formed: ") +
                                   e.what());
  } catch (const std::exception& e) {
    return error::invalid_argument(e.what());
  }
}

}  // namespace mysfits::cloud
