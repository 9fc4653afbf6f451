// CloudFormation templates for the local cloud (DESIGN.md §2.4): parse YAML or JSON (with the
// YAML short forms), bind parameters, evaluate conditions, order resources by their
// dependencies and resolve intrinsic functions. The deployer (runtime) supplies what only
// exists after a resource is created — physical ids and attributes — through `resolver`.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::cloud {

// Where a stack is deployed; the values behind the pseudo-parameters.
struct stack_context {
  // AWS::Region. Default: us-east-1.
  std::string region = "us-east-1";
  // AWS::AccountId. Default: 123456789012 (the local cloud's one account).
  std::string account_id = "123456789012";
  // AWS::StackName.
  std::string stack_name;
  // AWS::StackId; empty makes one from region, account and name.
  std::string stack_id;
};

// What a deployed resource exposes to Ref and Fn::GetAtt.
class resolver {
 public:
  virtual ~resolver() = default;
  // The value of `Ref` to a resource (its physical id).
  [[nodiscard]] virtual result<std::string> ref(std::string_view logical_id) const = 0;
  // The value of `Fn::GetAtt [logical_id, attribute]`.
  [[nodiscard]] virtual result<boost::json::value> get_att(std::string_view logical_id,
                                                           std::string_view attribute) const = 0;
};

// Parses a template written in JSON or YAML into its JSON form. YAML short forms (!Ref, !Sub,
// !GetAtt, !If, …) become their long forms ({"Ref": …}, {"Fn::Sub": …}). Plain YAML scalars
// that read as booleans or numbers become JSON booleans or numbers; quoted ones stay strings.
[[nodiscard]] result<boost::json::object> parse_template(std::string_view text);

struct resource_decl {
  std::string logical_id;
  std::string type;                     // e.g. AWS::DynamoDB::Table
  boost::json::value properties;        // as written (intrinsics unresolved); null if none
  std::vector<std::string> depends_on;  // explicit DependsOn plus Ref/GetAtt/Sub references
  std::string deletion_policy;          // Delete (default), Retain, Snapshot
};

// A template bound to parameter values and a stack context.
class stack_template {
 public:
  // Validates the template, binds parameters (overrides win over Default; AllowedValues,
  // AllowedPattern, Min/MaxLength, Min/MaxValue are checked), evaluates every condition and
  // orders the resources whose condition holds. Errors name the cause as CloudFormation does:
  // "Parameters: [X] must have values", "Circular dependency between resources: [A, B]", …
  // `Transform: AWS::LanguageExtensions` (the only transform run locally) expands Fn::ForEach in
  // Conditions, Resources (and their Properties) and Outputs once parameters are bound, and
  // enables Fn::Length, Fn::ToJsonString and Fn::FindInMap's DefaultValue; resources with no
  // dependency between them are created in template order (a loop's in its collection's order).
  [[nodiscard]] static result<stack_template> bind(
      const boost::json::object& doc, const std::map<std::string, std::string>& overrides,
      stack_context context);

  // Logical ids of the resources to create, every one after those it depends on.
  const std::vector<std::string>& creation_order() const { return order_; }
  const resource_decl& resource(std::string_view logical_id) const;
  // Effective parameter values (lists are comma-joined).
  const std::map<std::string, std::string>& parameters() const { return params_; }
  bool condition(std::string_view name) const;
  const stack_context& context() const { return context_; }
  const std::string& description() const { return description_; }
  // The template as deployed: with `Transform: AWS::LanguageExtensions`, every Fn::ForEach
  // expanded (CloudFormation's "Processed" template stage); otherwise the template as written.
  const boost::json::object& processed_template() const { return doc_; }
  // Whether the template declares the AWS::LanguageExtensions transform.
  bool has_language_extensions() const { return language_extensions_; }

  // Resolves every intrinsic in a resource's Properties (or in any value) given the resources
  // created so far. AWS::NoValue removes the key or list element that holds it.
  [[nodiscard]] result<boost::json::value> resolve_properties(std::string_view logical_id,
                                                              const resolver& r) const;
  [[nodiscard]] result<boost::json::value> resolve(const boost::json::value& v,
                                                   const resolver& r) const;
  // Outputs whose condition holds: name → {"Value": string, "Description"?, "ExportName"?}.
  [[nodiscard]] result<boost::json::object> outputs(const resolver& r) const;

 private:
  stack_template() = default;
  boost::json::object doc_;
  stack_context context_;
  std::string description_;
  bool language_extensions_ = false;
  std::map<std::string, std::string> params_;
  std::map<std::string, boost::json::value> param_values_;  // typed: string or array for lists
  std::map<std::string, bool, std::less<>> conditions_;
  std::map<std::string, resource_decl, std::less<>> resources_;
  std::vector<std::string> order_;
};

}  // namespace mysfits::cloud
