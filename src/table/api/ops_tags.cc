// TagResource, UntagResource, ListTagsOfResource on table ARNs
// (arn:aws:dynamodb:<region>:000000000000:table/<name>). Tags live in the table description.
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TagResource.html
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

void save(op_context& ctx, storage::table_info t) {
  // Through the store, which keeps the indexes' back-fill state (table_store::update_table).
  auto r = ctx.store.update_table(std::move(t));
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
  storage::table_info copy = *t;
  for (const auto& tag : *tags) {
    if (!tag.is_object()) throw api_error::serialization("Unexpected value type in Tags");
    std::string key(get_string(tag.as_object(), "Key"));
    std::string value(get_string(tag.as_object(), "Value"));
    if (key.empty() || key.size() > 128)
      throw api_error::validation(
          "One or more parameter values were invalid: Tag key length must be between 1 and 128");
    auto it = std::find_if(copy.tags.begin(), copy.tags.end(),
                           [&](const auto& kv) { return kv.first == key; });
    if (it != copy.tags.end())
      it->second = value;
    else
      copy.tags.emplace_back(key, value);
  }
  if (copy.tags.size() > 50)
    throw api_error::validation(
        "One or more parameter values were invalid: The number of tags exceeds the limit of 50");
  save(ctx, std::move(copy));
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
  storage::table_info copy = *t;
  for (const auto& k : *keys) {
    if (!k.is_string()) throw api_error::serialization("Unexpected value type in TagKeys");
    std::erase_if(copy.tags, [&](const auto& kv) { return kv.first == k.as_string(); });
  }
  save(ctx, std::move(copy));
  return {};
}

json::object list_tags_of_resource(op_context& ctx, const json::object& req) {
  auto t = table_of_arn(ctx, get_string(req, "ResourceArn"));
  json::array tags;
  for (const auto& [k, v] : t->tags) tags.emplace_back(json::object{{"Key", k}, {"Value", v}});
  return {{"Tags", std::move(tags)}};
}

}  // namespace mysfits::table::api
