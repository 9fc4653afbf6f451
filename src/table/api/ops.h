// The DynamoDB operations: one function per wire operation, from the request JSON to the
// response JSON. They throw api_error (only the router turns it into a response).
// Split by concern: ops_table.cc, ops_item.cc, ops_query_scan.cc, ops_batch.cc, ops_tags.cc;
// shared request helpers live in request.h.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "storage/table_store.h"

namespace mysfits::table::api {

struct op_context {
  storage::table_store& store;
  std::string region;  // for ARNs
};

namespace json = boost::json;

// ops_table.cc
json::object create_table(op_context& ctx, const json::object& req);
json::object describe_table(op_context& ctx, const json::object& req);
json::object list_tables(op_context& ctx, const json::object& req);
json::object delete_table(op_context& ctx, const json::object& req);
json::object update_table(op_context& ctx, const json::object& req);
// ops_item.cc
json::object put_item(op_context& ctx, const json::object& req);
json::object get_item(op_context& ctx, const json::object& req);
json::object update_item(op_context& ctx, const json::object& req);
json::object delete_item(op_context& ctx, const json::object& req);
// ops_query_scan.cc
json::object query(op_context& ctx, const json::object& req);
json::object scan(op_context& ctx, const json::object& req);
// ops_batch.cc
json::object batch_get_item(op_context& ctx, const json::object& req);
json::object batch_write_item(op_context& ctx, const json::object& req);
// ops_tags.cc
json::object tag_resource(op_context& ctx, const json::object& req);
json::object untag_resource(op_context& ctx, const json::object& req);
json::object list_tags_of_resource(op_context& ctx, const json::object& req);

}  // namespace mysfits::table::api
