// The AWS::LanguageExtensions transform (CloudFormation User Guide, "AWS::LanguageExtensions
// transform" and "Fn::ForEach"): expands Fn::ForEach loops in Conditions, Resources (with their
// properties) and Outputs before the template is bound. Private to the template engine;
// stack_template::bind runs it when the template declares the transform.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <string_view>

#include "mysfits/common/result.h"

namespace mysfits::cloud::detail {

// The transform's name as `Transform:` declares it.
inline constexpr std::string_view kLanguageExtensions = "AWS::LanguageExtensions";

// Evaluates a value that needs no deployed resource (a Ref to a parameter, Fn::Split,
// Fn::FindInMap…): how a loop's collection is resolved. Its errors become the loop's errors.
using static_evaluator = std::function<result<boost::json::value>(const boost::json::value&)>;

// Limits that keep a malformed or hostile template bounded. AWS allows five loops nested in a
// parent loop; a stack holds at most 500 resources (the entry limit is far above both).
inline constexpr int kMaxForEachDepth = 6;
inline constexpr std::size_t kMaxForEachEntries = 10000;

// Whether `Transform` declares AWS::LanguageExtensions. Errors name any other transform (the
// local cloud runs no macros or SAM) and a malformed Transform section.
[[nodiscard]] result<bool> declares_language_extensions(const boost::json::object& doc);

// The key of the first Fn::ForEach anywhere in `doc` with the section it sits in
// ("Resources/Fn::ForEach::Groups"), or empty: a template without the transform must have none.
[[nodiscard]] std::string find_for_each(const boost::json::object& doc);

// The template with every Fn::ForEach expanded. In each loop's fragment, `${Id}` and `&{Id}`
// (the value without its non-alphanumeric characters) are replaced in keys and in Fn::Sub
// strings, `Ref: Id` becomes the value, and an Fn::Sub left with no variables becomes a plain
// string (so `Ref: !Sub 'Group${Id}'` and `Condition: !Sub 'Is${Id}'` name one thing).
// Errors name the loop and where it is: a ForEach in a section that cannot have one, a malformed
// [Identifier, Collection, {OutputKey: OutputValue}], a collection that is not a list of
// strings, an OutputKey without the identifier, a generated key that is not alphanumeric, a
// duplicate key.
[[nodiscard]] result<boost::json::object> expand_language_extensions(
    const boost::json::object& doc, const static_evaluator& evaluate);

}  // namespace mysfits::cloud::detail
