// Binding a template: parameters, conditions, dependency order and intrinsic functions.
// References: AWS CloudFormation User Guide, "Intrinsic function reference" and
// "Pseudo parameters reference".
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>

#include "mysfits/cloud/template.h"
#include "template/language_extensions.h"

namespace mysfits::cloud {
namespace json = boost::json;

namespace {

// Thrown inside evaluation and turned into an error result at the public boundary.
struct template_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(std::string msg) { throw template_error(std::move(msg)); }

// AWS::NoValue: a value that removes the key or element holding it.
const json::value& no_value() {
  static const json::value v = json::object{{"\x01NoValue", true}};
  return v;
}
bool is_no_value(const json::value& v) {
  return v.is_object() && v.as_object().size() == 1 && v.as_object().contains("\x01NoValue");
}

std::string scalar_string(const json::value& v, std::string_view where) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  if (v.is_double()) return fmt::format("{}", v.as_double());
  if (v.is_bool()) return v.as_bool() ? "true" : "false";
  fail(fmt::format("Template error: {} must resolve to a string", where));
}

// The single key of an intrinsic function object, or empty.
std::string_view intrinsic_name(const json::object& o) {
  if (o.size() != 1) return {};
  auto key = std::string_view(o.begin()->key());
  if (key == "Ref" || key == "Condition" || key.starts_with("Fn::")) return key;
  return {};
}

const std::set<std::string, std::less<>> kPseudo = {
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue",   "AWS::Partition",
    "AWS::Region",    "AWS::StackId",          "AWS::StackName", "AWS::URLSuffix"};

struct evaluator {
  const json::object& doc;
  const stack_context& ctx;
  const std::map<std::string, json::value>& params;
  const std::map<std::string, bool, std::less<>>& conditions;
  const std::set<std::string, std::less<>>& resources;
  const resolver* r;  // null while evaluating conditions
  // The template declares AWS::LanguageExtensions (Fn::Length, Fn::ToJsonString, Fn::FindInMap
  // DefaultValue).
  bool language_extensions = false;
  // What is evaluated without resources, for the error naming a Ref to one.
  std::string_view static_scope = "Conditions";

  json::value pseudo(std::string_view name) const {
    if (name == "AWS::AccountId") return json::string(ctx.account_id);
    if (name == "AWS::Region") return json::string(ctx.region);
    if (name == "AWS::StackName") return json::string(ctx.stack_name);
    if (name == "AWS::StackId") return json::string(ctx.stack_id);
    if (name == "AWS::Partition") return "aws";
    if (name == "AWS::URLSuffix") return "amazonaws.com";
    if (name == "AWS::NotificationARNs") return json::array{};
    return no_value();
  }

  bool condition(std::string_view name) const {
    auto it = conditions.find(name);
    if (it == conditions.end()) fail(fmt::format("Template error: unresolved condition {}", name));
    return it->second;
  }

  json::value ref(std::string_view name) const {
    if (kPseudo.contains(name)) return pseudo(name);
    if (auto it = params.find(std::string(name)); it != params.end()) return it->second;
    if (resources.contains(name)) {
      if (!r)
        fail(fmt::format("Template error: {} cannot refer to resource {}", static_scope, name));
      auto v = r->ref(name);
      if (!v) fail(v.error().message);
      return json::string(*v);
    }
    fail(
        fmt::format("Template format error: Unresolved resource dependencies [{}] in the "
                    "Resources block of the template",
                    name));
  }

  json::value get_att(std::string_view res, std::string_view attr) const {
    if (!resources.contains(res)) {
      fail(fmt::format("Template error: instance of Fn::GetAtt references undefined resource {}",
                       res));
    }
    if (!r) fail(fmt::format("Template error: {} cannot refer to resource {}", static_scope, res));
    auto v = r->get_att(res, attr);
    if (!v) fail(v.error().message);
    return *v;
  }

  std::string sub(const std::string& text, const json::object* vars) const {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
      auto open = text.find("${", i);
      if (open == std::string::npos) {
        out += text.substr(i);
        break;
      }
      out += text.substr(i, open - i);
      auto close = text.find('}', open);
      if (close == std::string::npos) fail("Template error: Fn::Sub has an unterminated ${");
      std::string name = text.substr(open + 2, close - open - 2);
      i = close + 1;
      if (!name.empty() && name[0] == '!') {  // ${!Literal} writes ${Literal}
        out += "${" + name.substr(1) + "}";
        continue;
      }
      if (vars) {
        if (auto it = vars->find(name); it != vars->end()) {
          out += scalar_string(eval(it->value()), "Fn::Sub variable");
          continue;
        }
      }
      auto dot = name.find('.');
      if (dot != std::string::npos && !kPseudo.contains(name)) {
        out += scalar_string(get_att(name.substr(0, dot), name.substr(dot + 1)), "Fn::Sub");
      } else {
        auto v = ref(name);
        if (v.is_array()) {
          fail(fmt::format("Template error: Fn::Sub cannot use list parameter {}", name));
        }
        out += scalar_string(v, "Fn::Sub");
      }
    }
    return out;
  }

  const json::array& args(const json::value& v, std::size_t n, std::string_view fn) const {
    if (!v.is_array() || (n && v.as_array().size() != n)) {
      fail(fmt::format("Template error: {} takes a list of {} arguments", fn, n));
    }
    return v.as_array();
  }

  bool truth(const json::value& v) const {
    if (v.is_bool()) return v.as_bool();
    if (v.is_string() && (v.as_string() == "true" || v.as_string() == "false")) {
      return v.as_string() == "true";
    }
    fail("Template error: a condition function must resolve to true or false");
  }

  json::value list_of(const json::value& v, std::string_view fn) const {
    auto e = eval(v);
    if (!e.is_array()) fail(fmt::format("Template error: {} needs a list", fn));
    return e;
  }

  json::value call(std::string_view fn, const json::value& arg) const {
    if (fn == "Ref") {
      // AWS::LanguageExtensions lets Ref take an intrinsic function that names the target.
      if (arg.is_object() && language_extensions) return ref(scalar_string(eval(arg), fn));
      if (!arg.is_string()) fail("Template error: Ref takes a name");
      return ref(arg.as_string());
    }
    if (fn == "Condition") {
      if (!arg.is_string()) fail("Template error: Condition takes a name");
      return condition(arg.as_string());
    }
    if (fn == "Fn::If") {
      const auto& a = args(arg, 3, fn);
      if (!a[0].is_string()) fail("Template error: Fn::If needs a condition name");
      return eval(condition(a[0].as_string()) ? a[1] : a[2]);
    }
    if (fn == "Fn::Equals") {
      const auto& a = args(arg, 2, fn);
      return scalar_string(eval(a[0]), fn) == scalar_string(eval(a[1]), fn);
    }
    if (fn == "Fn::Not") return !truth(eval(args(arg, 1, fn)[0]));
    if (fn == "Fn::And" || fn == "Fn::Or") {
      const auto& a = args(arg, 0, fn);
      if (a.size() < 2 || a.size() > 10)
        fail(fmt::format("Template error: {} takes 2 to 10 conditions", fn));
      bool is_and = fn == "Fn::And";
      bool acc = is_and;
      for (const auto& c : a) acc = is_and ? (acc && truth(eval(c))) : (acc || truth(eval(c)));
      return acc;
    }
    if (fn == "Fn::GetAtt") {
      json::value a = arg;
      if (arg.is_string()) {
        auto s = std::string(arg.as_string());
        auto dot = s.find('.');
        if (dot == std::string::npos) fail("Template error: Fn::GetAtt needs Resource.Attribute");
        a = json::array{json::string(s.substr(0, dot)), json::string(s.substr(dot + 1))};
      }
      const auto& l = args(a, 2, fn);
      return get_att(scalar_string(eval(l[0]), fn), scalar_string(eval(l[1]), fn));
    }
    if (fn == "Fn::Sub") {
      if (arg.is_string()) return json::string(sub(std::string(arg.as_string()), nullptr));
      const auto& a = args(arg, 2, fn);
      if (!a[1].is_object()) fail("Template error: Fn::Sub variables must be a map");
      return json::string(sub(scalar_string(eval(a[0]), fn), &a[1].as_object()));
    }
    if (fn == "Fn::Join") {
      const auto& a = args(arg, 2, fn);
      auto sep = scalar_string(eval(a[0]), fn);
      auto items = list_of(a[1], fn);
      std::string out;
      bool first = true;
      for (const auto& item : items.as_array()) {
        if (is_no_value(item)) continue;
        if (!first) out += sep;
        out += scalar_string(item, fn);
        first = false;
      }
      return json::string(out);
    }
    if (fn == "Fn::Select") {
      const auto& a = args(arg, 2, fn);
      auto idx_s = scalar_string(eval(a[0]), fn);
      auto items = list_of(a[1], fn);
      std::size_t idx = 0;
      try {
        idx = std::stoul(idx_s);
      } catch (const std::exception&) {
        fail("Template error: Fn::Select index must be a number");
      }
      if (idx >= items.as_array().size()) {
        fail(fmt::format("Template error: Fn::Select cannot select nonexistent value at index {}",
                         idx));
      }
      return items.as_array()[idx];
    }
    if (fn == "Fn::Split") {
      const auto& a = args(arg, 2, fn);
      auto sep = scalar_string(eval(a[0]), fn);
      auto s = scalar_string(eval(a[1]), fn);
      if (sep.empty()) fail("Template error: Fn::Split needs a delimiter");
      json::array out;
      std::size_t pos = 0;
      for (;;) {
        auto next = s.find(sep, pos);
        out.push_back(json::string(s.substr(pos, next - pos)));
        if (next == std::string::npos) break;
        pos = next + sep.size();
      }
      return out;
    }
    if (fn == "Fn::FindInMap") {
      const auto& a = args(arg, 0, fn);
      // AWS::LanguageExtensions adds a fourth element, {DefaultValue: V}, for a missing key.
      const json::value* default_value = nullptr;
      if (a.size() == 4) {
        const auto* d = a[3].is_object() && a[3].as_object().size() == 1
                            ? a[3].as_object().if_contains("DefaultValue")
                            : nullptr;
        if (!d) fail("Template error: Fn::FindInMap's fourth element must be {DefaultValue: V}");
        if (!language_extensions) {
          fail(
              "Template error: Fn::FindInMap DefaultValue needs Transform: "
              "AWS::LanguageExtensions");
        }
        default_value = d;
      } else if (a.size() != 3) {
        fail("Template error: Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]");
      }
      auto map = scalar_string(eval(a[0]), fn), k1 = scalar_string(eval(a[1]), fn),
           k2 = scalar_string(eval(a[2]), fn);
      const auto* mappings = doc.if_contains("Mappings");
      const json::value* v = nullptr;
      if (mappings && mappings->is_object()) {
        if (auto* m = mappings->as_object().if_contains(map); m && m->is_object()) {
          if (auto* top = m->as_object().if_contains(k1); top && top->is_object()) {
            v = top->as_object().if_contains(k2);
          }
        }
      }
      if (!v && default_value) return eval(*default_value);
      if (!v)
        fail(fmt::format("Template error: Unable to get mapping for {}::{}::{}", map, k1, k2));
      return *v;
    }
    if (fn == "Fn::GetAZs") {
      auto region = scalar_string(eval(arg), fn);
      if (region.empty()) region = ctx.region;
      return json::array{json::string(region + "a"), json::string(region + "b"),
                         json::string(region + "c")};
    }
    if (fn == "Fn::Base64") {
      auto s = scalar_string(eval(arg), fn);
      std::string out(4 * ((s.size() + 2) / 3), '\0');
      int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                              reinterpret_cast<const unsigned char*>(s.data()),
                              static_cast<int>(s.size()));
      out.resize(static_cast<std::size_t>(n));
      return json::string(out);
    }
    if ((fn == "Fn::Length" || fn == "Fn::ToJsonString") && !language_extensions)
      fail(fmt::format("Template error: {} needs Transform: AWS::LanguageExtensions", fn));
    if (fn == "Fn::Length") return static_cast<std::int64_t>(list_of(arg, fn).as_array().size());
    if (fn == "Fn::ToJsonString") return json::string(json::serialize(eval(arg)));
    fail(fmt::format("Template error: {} is not supported by the local cloud", fn));
  }

  json::value eval(const json::value& v) const {
    if (v.is_object()) {
      const auto& o = v.as_object();
      if (auto fn = intrinsic_name(o); !fn.empty()) return call(fn, o.begin()->value());
      json::object out;
      for (const auto& kv : o) {
        auto e = eval(kv.value());
        if (!is_no_value(e)) out[kv.key()] = std::move(e);
      }
      return out;
    }
    if (v.is_array()) {
      json::array out;
      for (const auto& e : v.as_array()) {
        auto x = eval(e);
        if (!is_no_value(x)) out.push_back(std::move(x));
      }
      return out;
    }
    return v;
  }
};

// Collects the resources a value refers to, following only the Fn::If branch its condition
// selects (a reference in the branch not taken is no dependency).
void collect_refs(const json::value& v, const std::set<std::string, std::less<>>& resources,
                  const std::map<std::string, bool, std::less<>>& conditions,
                  std::set<std::string>& out) {
  if (v.is_array()) {
    for (const auto& e : v.as_array()) collect_refs(e, resources, conditions, out);
    return;
  }
  if (!v.is_object()) return;
  const auto& o = v.as_object();
  auto fn = intrinsic_name(o);
  const auto& arg = o.empty() ? v : o.begin()->value();
  auto add = [&](std::string_view name) {
    if (resources.contains(name)) out.insert(std::string(name));
  };
  if (fn == "Ref" && arg.is_string()) return add(arg.as_string());
  if (fn == "Fn::GetAtt") {
    if (arg.is_array() && !arg.as_array().empty() && arg.as_array()[0].is_string()) {
      add(arg.as_array()[0].as_string());
    } else if (arg.is_string()) {
      auto s = std::string_view(arg.as_string());
      add(s.substr(0, s.find('.')));
    }
    return;
  }
  if (fn == "Fn::If" && arg.is_array() && arg.as_array().size() == 3 &&
      arg.as_array()[0].is_string()) {
    auto it = conditions.find(arg.as_array()[0].as_string());
    bool c = it != conditions.end() && it->second;
    return collect_refs(arg.as_array()[c ? 1 : 2], resources, conditions, out);
  }
  if (fn == "Fn::Sub") {
    const json::value* text = arg.is_string() ? &arg : nullptr;
    if (arg.is_array() && !arg.as_array().empty()) {
      text = &arg.as_array()[0];
      if (arg.as_array().size() > 1) collect_refs(arg.as_array()[1], resources, conditions, out);
    }
    if (text && text->is_string()) {
      static const std::regex var(R"(\$\{([^!}][^}.]*)(\.[^}]*)?\})");
      std::string s(text->as_string());
      for (auto it = std::sregex_iterator(s.begin(), s.end(), var); it != std::sregex_iterator();
           ++it) {
        add((*it)[1].str());
      }
    }
    return;
  }
  for (const auto& kv : o) collect_refs(kv.value(), resources, conditions, out);
}

// Fails on a Ref or Fn::GetAtt naming nothing the template declares.
void check_refs(const json::value& v, const std::set<std::string, std::less<>>& resources,
                const std::map<std::string, json::value>& params) {
  if (v.is_array()) {
    for (const auto& e : v.as_array()) check_refs(e, resources, params);
    return;
  }
  if (!v.is_object()) return;
  const auto& o = v.as_object();
  auto fn = intrinsic_name(o);
  auto unresolved = [](std::string_view name) {
    fail(
        fmt::format("Template format error: Unresolved resource dependencies [{}] in the "
                    "Resources block of the template",
                    name));
  };
  if (fn == "Ref" && o.begin()->value().is_string()) {
    auto name = std::string(o.begin()->value().as_string());
    if (!resources.contains(name) && !params.contains(name) && !kPseudo.contains(name)) {
      unresolved(name);
    }
    return;
  }
  if (fn == "Fn::GetAtt") {
    const auto& arg = o.begin()->value();
    std::string name;
    if (arg.is_array() && !arg.as_array().empty() && arg.as_array()[0].is_string()) {
      name = arg.as_array()[0].as_string();
    } else if (arg.is_string()) {
      auto s = std::string(arg.as_string());
      name = s.substr(0, s.find('.'));
    }
    if (!name.empty() && !resources.contains(name)) unresolved(name);
    return;
  }
  for (const auto& kv : o) check_refs(kv.value(), resources, params);
}

json::value bind_parameter(const std::string& name, const json::object& decl,
                           const std::string& raw) {
  std::string type = decl.contains("Type") && decl.at("Type").is_string()
                         ? std::string(decl.at("Type").as_string())
                         : "String";
  auto check_one = [&](const std::string& value) {
    if (auto* allowed = decl.if_contains("AllowedValues"); allowed && allowed->is_array()) {
      bool ok = false;
      for (const auto& a : allowed->as_array())
        ok = ok || scalar_string(a, "AllowedValues") == value;
      if (!ok) {
        fail(fmt::format("Parameter '{}' must be one of AllowedValues", name));
      }
    }
    if (auto* pattern = decl.if_contains("AllowedPattern"); pattern && pattern->is_string()) {
      std::regex re;
      try {
        re = std::regex(std::string(pattern->as_string()));
      } catch (const std::regex_error&) {
        fail(fmt::format("Template format error: Parameter '{}' has an invalid AllowedPattern",
                         name));
      }
      if (!std::regex_match(value, re)) {
        fail(fmt::format("Parameter '{}' must match pattern {}", name,
                         std::string(pattern->as_string())));
      }
    }
    if (type == "Number" || type == "List<Number>") {
      static const std::regex number(R"([-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)");
      if (!std::regex_match(value, number)) {
        fail(fmt::format("Parameter '{}' must be a number", name));
      }
      double d = std::stod(value);
      if (auto* mn = decl.if_contains("MinValue");
          mn && d < std::stod(scalar_string(*mn, "MinValue"))) {
        fail(fmt::format("Parameter '{}' must be a number not less than {}", name,
                         scalar_string(*mn, "")));
      }
      if (auto* mx = decl.if_contains("MaxValue");
          mx && d > std::stod(scalar_string(*mx, "MaxValue"))) {
        fail(fmt::format("Parameter '{}' must be a number not greater than {}", name,
                         scalar_string(*mx, "")));
      }
    }
    if (auto* mn = decl.if_contains("MinLength");
        mn && value.size() < std::stoul(scalar_string(*mn, ""))) {
      fail(fmt::format("Parameter '{}' must contain at least {} characters", name,
                       scalar_string(*mn, "")));
    }
    if (auto* mx = decl.if_contains("MaxLength");
        mx && value.size() > std::stoul(scalar_string(*mx, ""))) {
      fail(fmt::format("Parameter '{}' must contain at most {} characters", name,
                       scalar_string(*mx, "")));
    }
  };
  if (type == "CommaDelimitedList" || type.starts_with("List<")) {
    json::array items;
    std::size_t pos = 0;
    for (;;) {
      auto next = raw.find(',', pos);
      auto item = raw.substr(pos, next - pos);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      check_one(item);
      items.push_back(json::string(item));
      if (next == std::string::npos) break;
      pos = next + 1;
    }
    return items;
  }
  check_one(raw);
  return json::string(raw);
}

}  // namespace

result<stack_template> stack_template::bind(const json::object& doc,
                                            const std::map<std::string, std::string>& overrides,
                                            stack_context context) try {
  stack_template t;
  t.doc_ = doc;
  if (context.stack_id.empty()) {
    context.stack_id = fmt::format("arn:aws:cloudformation:{}:{}:stack/{}/local", context.region,
                                   context.account_id, context.stack_name);
  }
  t.context_ = std::move(context);
  static const std::set<std::string, std::less<>> sections = {"AWSTemplateFormatVersion",
                                                              "Description",
                                                              "Metadata",
                                                              "Parameters",
                                                              "Rules",
                                                              "Mappings",
                                                              "Conditions",
                                                              "Transform",
                                                              "Resources",
                                                              "Outputs"};
  for (const auto& kv : doc) {
    if (!sections.contains(kv.key())) {
      fail(fmt::format("Template format error: Invalid template property or properties [{}]",
                       std::string(kv.key())));
    }
  }
  if (auto* d = doc.if_contains("Description"); d && d->is_string())
    t.description_ = d->as_string();
  auto extensions = detail::declares_language_extensions(doc);
  if (!extensions) fail(extensions.error().message);
  t.language_extensions_ = *extensions;
  if (!t.language_extensions_) {
    if (auto loop = detail::find_for_each(doc); !loop.empty()) {
      fail(fmt::format("Template format error: {} needs Transform: AWS::LanguageExtensions", loop));
    }
  }

  // Parameters.
  std::vector<std::string> missing;
  const json::object empty;
  const auto* params = doc.if_contains("Parameters");
  if (params && !params->is_object()) fail("Template format error: Parameters must be a map");
  const auto& pdecl = params ? params->as_object() : empty;
  for (const auto& [name, value] : overrides) {
    if (!pdecl.contains(name))
      fail(fmt::format("Parameters: [{}] do not exist in the template", name));
  }
  for (const auto& kv : pdecl) {
    std::string name(kv.key());
    if (!kv.value().is_object())
      fail(fmt::format("Template format error: Parameter {} must be a map", name));
    const auto& decl = kv.value().as_object();
    std::string raw;
    if (auto it = overrides.find(name); it != overrides.end()) {
      raw = it->second;
    } else if (auto* def = decl.if_contains("Default")) {
      raw = scalar_string(*def, "Default");
    } else {
      missing.push_back(name);
      continue;
    }
    t.param_values_[name] = bind_parameter(name, decl, raw);
    t.params_[name] = raw;
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    fail(fmt::format("Parameters: [{}] must have values", list));
  }

  // AWS::LanguageExtensions: loops are expanded once the parameters are known (a collection may
  // be a CommaDelimitedList parameter); everything below works on the processed template.
  if (t.language_extensions_) {
    std::set<std::string, std::less<>> declared;
    if (auto* r = doc.if_contains("Resources"); r && r->is_object()) {
      for (const auto& kv : r->as_object()) declared.insert(std::string(kv.key()));
    }
    const std::map<std::string, bool, std::less<>> no_conditions;
    auto evaluate = [&](const json::value& v) -> result<json::value> {
      try {
        evaluator ev{doc,     t.context_, t.param_values_,           no_conditions, declared,
                     nullptr, true,       "A Fn::ForEach collection"};
        return ev.eval(v);
      } catch (const template_error& e) {
        return error::invalid_argument(e.what());
      }
    };
    auto expanded = detail::expand_language_extensions(doc, evaluate);
    if (!expanded) fail(expanded.error().message);
    t.doc_ = std::move(*expanded);
  }
  const json::object& processed = t.doc_;

  // Resources (names first: conditions may not refer to them, but must know them).
  const auto* res = processed.if_contains("Resources");
  if (!res || !res->is_object() || res->as_object().empty()) {
    fail("Template format error: At least one Resources member must be defined.");
  }
  std::set<std::string, std::less<>> resource_names;
  for (const auto& kv : res->as_object()) resource_names.insert(std::string(kv.key()));

  // Conditions, evaluated in dependency order; a cycle is an error.
  const auto* conds = processed.if_contains("Conditions");
  if (conds && !conds->is_object()) fail("Template format error: Conditions must be a map");
  if (conds) {
    std::set<std::string> visiting;
    std::function<void(const std::string&)> eval_condition = [&](const std::string& name) {
      if (t.conditions_.contains(name)) return;
      auto* c = conds->as_object().if_contains(name);
      if (!c) fail(fmt::format("Template format error: Unresolved condition dependency {}", name));
      if (!visiting.insert(name).second) {
        fail(fmt::format("Template error: Circular dependency between conditions: {}", name));
      }
      // Evaluate referenced conditions first.
      std::function<void(const json::value&)> deps = [&](const json::value& v) {
        if (v.is_array()) {
          for (const auto& e : v.as_array()) deps(e);
        } else if (v.is_object()) {
          const auto& o = v.as_object();
          if (o.size() == 1 && o.begin()->key() == "Condition" && o.begin()->value().is_string()) {
            eval_condition(std::string(o.begin()->value().as_string()));
          }
          for (const auto& kv2 : o) deps(kv2.value());
        }
      };
      deps(*c);
      evaluator ev{processed,      t.context_, t.param_values_,       t.conditions_,
                   resource_names, nullptr,    t.language_extensions_};
      auto v = ev.eval(*c);
      t.conditions_[name] = ev.truth(v);
      visiting.erase(name);
    };
    for (const auto& kv : conds->as_object()) eval_condition(std::string(kv.key()));
  }

  // With AWS::LanguageExtensions, Condition, DependsOn, DeletionPolicy and UpdateReplacePolicy
  // may be intrinsic functions (e.g. Fn::FindInMap with a DefaultValue of AWS::NoValue); they
  // are resolved here, before deploy, or the resource has none.
  auto attribute = [&](const json::object& r, std::string_view name) -> std::optional<json::value> {
    const auto* v = r.if_contains(name);
    if (!v) return std::nullopt;
    if (!t.language_extensions_ || !v->is_object()) return *v;
    evaluator ev{processed, t.context_, t.param_values_,       t.conditions_, resource_names,
                 nullptr,   true,       "A resource attribute"};
    auto e = ev.eval(*v);
    if (is_no_value(e)) return std::nullopt;
    return e;
  };

  // Resource declarations and their dependencies.
  std::set<std::string, std::less<>> active;
  std::map<std::string, std::size_t> declared_at;  // template order: the tie-break below
  for (const auto& kv : res->as_object()) {
    std::string id(kv.key());
    if (!kv.value().is_object())
      fail(fmt::format("Template format error: Resource {} must be a map", id));
    const auto& r = kv.value().as_object();
    auto* type = r.if_contains("Type");
    if (!type || !type->is_string()) {
      fail(
          fmt::format("Template format error: [/Resources/{}] Every Resources object must contain "
                      "a Type member.",
                      id));
    }
    declared_at[id] = declared_at.size();
    if (auto c = attribute(r, "Condition")) {
      if (!c->is_string() || !t.conditions_.contains(c->as_string())) {
        fail(fmt::format(
            "Template format error: Unresolved dependencies [{}] in Resources/{}/Condition",
            c->is_string() ? std::string(c->as_string()) : std::string("?"), id));
      }
      if (!t.conditions_.find(std::string_view(c->as_string()))->second) continue;
    }
    active.insert(id);
  }
  for (const auto& id : active) {
    const auto& r = res->as_object().at(id).as_object();
    resource_decl d;
    d.logical_id = id;
    d.type = r.at("Type").as_string();
    if (auto* p = r.if_contains("Properties")) d.properties = *p;
    if (auto dp = attribute(r, "DeletionPolicy"); dp && dp->is_string())
      d.deletion_policy = dp->as_string();
    std::set<std::string> deps;
    if (auto dep = attribute(r, "DependsOn")) {
      json::array list = dep->is_array() ? dep->as_array() : json::array{*dep};
      for (const auto& e : list) {
        if (!e.is_string() || !resource_names.contains(e.as_string())) {
          fail(
              fmt::format("Template format error: Unresolved resource dependencies [{}] in the "
                          "Resources block of the template",
                          e.is_string() ? std::string(e.as_string()) : std::string("?")));
        }
        deps.insert(std::string(e.as_string()));
      }
    }
    check_refs(d.properties, resource_names, t.param_values_);
    collect_refs(d.properties, resource_names, t.conditions_, deps);
    for (const auto& dep : deps) {
      if (!active.contains(dep)) {
        fail(
            fmt::format("Template format error: Unresolved resource dependencies [{}] in the "
                        "Resources block of the template (its condition is false)",
                        dep));
      }
      if (dep == id) fail(fmt::format("Circular dependency between resources: [{}]", id));
    }
    d.depends_on.assign(deps.begin(), deps.end());
    t.resources_.emplace(id, std::move(d));
  }

  // Kahn's algorithm; ready resources are taken in template order (for a loop, its collection's
  // order) so the plan is deterministic and follows the author's order where nothing else does.
  std::map<std::string, std::size_t> indegree;
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& [id, d] : t.resources_) {
    indegree[id] += 0;
    for (const auto& dep : d.depends_on) {
      indegree[id]++;
      dependents[dep].push_back(id);
    }
  }
  std::set<std::pair<std::size_t, std::string>> ready;
  for (const auto& [id, n] : indegree) {
    if (n == 0) ready.emplace(declared_at[id], id);
  }
  while (!ready.empty()) {
    auto id = ready.begin()->second;
    ready.erase(ready.begin());
    t.order_.push_back(id);
    for (const auto& next : dependents[id]) {
      if (--indegree[next] == 0) ready.emplace(declared_at[next], next);
    }
  }
  if (t.order_.size() != t.resources_.size()) {
    std::string cycle;
    for (const auto& [id, n] : indegree) {
      if (n > 0) cycle += (cycle.empty() ? "" : ", ") + id;
    }
    fail(fmt::format("Circular dependency between resources: [{}]", cycle));
  }

  // Outputs must name known conditions.
  if (auto* outs = processed.if_contains("Outputs")) {
    if (!outs->is_object()) fail("Template format error: Outputs must be a map");
    for (const auto& kv : outs->as_object()) {
      if (!kv.value().is_object() || !kv.value().as_object().contains("Value")) {
        fail(
            fmt::format("Template format error: Output {} is malformed. Every Outputs member must "
                        "contain a Value object",
                        std::string(kv.key())));
      }
    }
  }
  return t;
} catch (const template_error& e) {
  return error::invalid_argument(e.what());
}

const resource_decl& stack_template::resource(std::string_view logical_id) const {
  auto it = resources_.find(logical_id);
  if (it == resources_.end()) throw std::out_of_range("no resource " + std::string(logical_id));
  return it->second;
}

bool stack_template::condition(std::string_view name) const {
  auto it = conditions_.find(name);
  return it != conditions_.end() && it->second;
}

result<json::value> stack_template::resolve(const json::value& v, const resolver& r) const try {
  std::set<std::string, std::less<>> names;
  if (auto* res = doc_.if_contains("Resources"); res && res->is_object()) {
    for (const auto& kv : res->as_object()) names.insert(std::string(kv.key()));
  }
  evaluator ev{doc_, context_, param_values_, conditions_, names, &r, language_extensions_};
  auto out = ev.eval(v);
  if (is_no_value(out)) return json::value(nullptr);
  return out;
} catch (const template_error& e) {
  return error::invalid_argument(e.what());
}

result<json::value> stack_template::resolve_properties(std::string_view logical_id,
                                                       const resolver& r) const {
  auto it = resources_.find(logical_id);
  if (it == resources_.end()) return error::not_found("no resource " + std::string(logical_id));
  if (it->second.properties.is_null()) return json::value(json::object{});
  return resolve(it->second.properties, r);
}

result<json::object> stack_template::outputs(const resolver& r) const {
  json::object out;
  auto* outs = doc_.if_contains("Outputs");
  if (!outs) return out;
  for (const auto& kv : outs->as_object()) {
    const auto& o = kv.value().as_object();
    if (auto* c = o.if_contains("Condition"); c && c->is_string() && !condition(c->as_string())) {
      continue;
    }
    auto value = resolve(o.at("Value"), r);
    if (!value) return value.error();
    json::object entry;
    try {
      entry["Value"] = json::string(scalar_string(*value, "Output Value"));
    } catch (const template_error& e) {
      return error::invalid_argument(e.what());
    }
    if (auto* d = o.if_contains("Description")) entry["Description"] = *d;
    if (auto* e = o.if_contains("Export"); e && e->is_object() && e->as_object().contains("Name")) {
      auto name = resolve(e->as_object().at("Name"), r);
      if (!name) return name.error();
      entry["ExportName"] = *name;
    }
    out[kv.key()] = std::move(entry);
  }
  return out;
}

}  // namespace mysfits::cloud
