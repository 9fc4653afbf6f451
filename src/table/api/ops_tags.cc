// TagResource, UntagResource, ListTagsOfResource on table ARNs
// (arn:aws:dynamodb:<region>:000000000000:table/<name>). Tags live in the table description.
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TagResource.html
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "api/ops.h"
#include "api/request.h"

namespace mysfits::table::api {

namespace {

std::shared_ptr<const storage::table_info> table_of_arn(op_context& ctx, std::string_view arn) {
  std::string prefix = "arn:aws:dynamodb:" + ctx.region + ":000000000000:table/";
  if (arn.substr(0, 18) != "arn:aws:dynamodb:" && arn.substr(0, 17) != "arn:aws:dynamodb:")
    throw api_error::validation("Invalid TableArn: Invalid ResourceArn provided as input " +
                                std::string(arn));
  if (arn.substr(0, prefix.size()) != prefix)
    throw api_error::resource_not_found(
        "Requested resource not found: ResourcArn: " + std::string(arn) + " not found");
  std::string_view name = arn.substr(prefix.size());
  auto t = ctx.store.tables().find(name);
  if (!t)
    throw api_error::resource_not_found(
        "Requested resource not found: ResourcArn: " + std::string(arn) + " not found");
  return t;
}

// Changes the tags of the table as stored when the store applies it (table_store::modify_table),
// so a concurrent change of the table is neither lost nor undone.
using tag_list = std::vector<std::pair<std::string, std::string>>;
void change_tags(op_context& ctx, const storage::table_info& t,
                 const std::function<void(tag_list&)>& change) {
  auto r = ctx.store.modify_table(t.name, [&](storage::table_info& now) {
    change(now.tags);
    if (now.tags.size() > 50)
      throw api_error::validation(
          "One or more parameter values were invalid: The number of tags exceeds the limit of 50");
    return true;
  });
  if (!r) throw_storage_error(r.error());
}

}  // namespace

json::object tag_resource(op_context& ctx, const json::object& req) {
  auto arn = get_string(req, "ResourceArn");
  const auto* tags = find_array(req, "Tags");
  if (!tags)
    throw api_error::validation(
        "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member "
        "must not be null");
  auto t = table_of_arn(ctx, arn);
  tag_list given;
  for (const auto& tag : *tags) {
    if (!tag.is_object()) throw api_error::serialization("Unexpected value type in Tags");
    std::string key(get_string(tag.as_object(), "Key"));
    std::string value(get_string(tag.as_object(), "Value"));
    if (key.empty() || key.size() > 128)
      throw api_error::validation(
          "One or more parameter values were invalid: Tag key length must be between 1 and 128");
    given.emplace_back(std::move(key), std::move(value));
  }
  change_tags(ctx, *t, [&](tag_list& now) {
    for (const auto& tag : given) {
      auto it = std::find_if(now.begin(), now.end(),
                             [&](const auto& kv) { return kv.first == tag.first; });
      if (it != now.end())
        it->second = tag.second;
      else
        now.push_back(tag);
    }
  });
  return {};
}

json::object untag_resource(op_context& ctx, const json::object& req) {
  auto arn = get_string(req, "ResourceArn");
  const auto* keys = find_array(req, "TagKeys");
  if (!keys)
    throw api_error::validation(
        "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: "
        "Member must not be null");
  auto t = table_of_arn(ctx, arn);
  for (const auto& k : *keys)
    if (!k.is_string()) throw api_error::serialization("Unexpected value type in TagKeys");
  change_tags(ctx, *t, [&](tag_list& now) {
    for (const auto& k : *keys)
      std::erase_if(now, [&](const auto& kv) { return kv.first == k.as_string(); });
  });
  return {};
}

json::object list_tags_of_resource(op_context& ctx, const json::object& req) {
  auto t = table_of_arn(ctx, get_string(req, "ResourceArn"));
  json::array tags;
  for (const auto& [k, v] : t->tags) tags.emplace_back(json::object{{"Key", k}, {"Value", v}});
  return {{"Tags", std::move(tags)}};
}

}  // namespace mysfits::table::api
