// The DynamoDB operations: one function per wire operation, from the request JSON to the
// response JSON. They throw api_error (only the router turns it into a response).
// Split by concern: ops_table.cc, ops_item.cc, ops_query_scan.cc, ops_batch.cc, ops_tags.cc,
// ops_streams.cc (the DynamoDB Streams API); shared request helpers live in request.h.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "storage/table_store.h"

namespace mysfits::table::api {

namespace json = boost::json;

struct op_context;

// What the operations need from global-table replication (issue 3); replication::replicator
// implements it. Absent (null) when the engine runs without --regions-file.
class replication_hooks {
 public:
  virtual ~replication_hooks() = default;
  // UpdateTable ReplicaUpdates (DynamoDB global tables 2019.11.21): validates and applies the
  // Create or Delete, and returns the description to answer with. Throws api_error.
  virtual std::shared_ptr<const storage::table_info> update_replicas(
      op_context& ctx, const storage::table_info& t, const json::array& updates) = 0;
  // DeleteTable of this region's replica of a global table (as in DynamoDB 2019.11.21: it
  // deletes only this region's replica): tells the other regions to drop it from their replica
  // sets, so replication to and from it stops. Throws ResourceInUseException while the replica
  // is still being created. The caller then deletes the table.
  virtual void delete_replica_table(op_context& ctx, const storage::table_info& t) = 0;
  // The engine's internal replication protocol (X-Amz-Target MysfitsReplication_20261129.<Op>):
  // pulls, snapshots and replica membership between regions. Throws api_error.
  virtual json::object handle_internal(std::string_view operation, const json::object& body) = 0;
};

struct op_context {
  storage::table_store& store;
  std::string region;  // for ARNs
  replication_hooks* replication = nullptr;
};

// Turns the table's stream on with `view_type` (NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES,
// KEYS_ONLY) and a fresh stream label. Making a table global calls it with NEW_AND_OLD_IMAGES.
void enable_stream(storage::table_info& t, std::string_view view_type);

// ops_table.cc
json::object create_table(op_context& ctx, const json::object& req);
json::object describe_table(op_context& ctx, const json::object& req);
json::object list_tables(op_context& ctx, const json::object& req);
json::object delete_table(op_context& ctx, const json::object& req);
json::object update_table(op_context& ctx, const json::object& req);
// Turns the table's stream on with `view_type` (NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES or
// KEYS_ONLY) under a new label, so a new stream ARN; a previous, disabled stream stays listed
// (DISABLED) and readable until its records are trimmed. Nothing changes when the stream is
// already on with this view type (global tables call it with NEW_AND_OLD_IMAGES). Throws
// ValidationException for an unknown view type or a stream already on with another one.
// The caller stores `t` (table_store::update_table).
void enable_stream(storage::table_info& t, std::string_view view_type);
// ops_item.cc
json::object put_item(op_context& ctx, const json::object& req);
json::object get_item(op_context& ctx, const json::object& req);
json::object update_item(op_context& ctx, const json::object& req);
json::object delete_item(op_context& ctx, const json::object& req);
// ops_query_scan.cc
json::object query(op_context& ctx, const json::object& req);
json::object scan(op_context& ctx, const json::object& req);
// A Query or Scan that returns whole items as stored (no filter, projection, Limit, Select COUNT,
// segments or ConsumedCapacity) writes its answer itself: the stored JSON text of each item
// spliced into {"Items":[…],"Count":n,"ScannedCount":n}, the bytes json::serialize gives for the
// parsed items; a GetItem of the whole item (no projection or ConsumedCapacity) likewise answers
// {"Item":<stored text>}. It leaves the text here and returns an empty object; the router sends
// the text.
// Per thread, taken (and cleared) by the dispatch that called the operation.
std::optional<std::string> take_preformatted_response();
// Leaves `text` as this thread's preformatted answer (see above; GetItem uses it too).
void set_preformatted_response(std::string text);
// ops_batch.cc
json::object batch_get_item(op_context& ctx, const json::object& req);
json::object batch_write_item(op_context& ctx, const json::object& req);
// ops_tags.cc
json::object tag_resource(op_context& ctx, const json::object& req);
json::object untag_resource(op_context& ctx, const json::object& req);
json::object list_tags_of_resource(op_context& ctx, const json::object& req);
// ops_streams.cc (X-Amz-Target DynamoDBStreams_20120810.<Op>)
json::object list_streams(op_context& ctx, const json::object& req);
json::object describe_stream(op_context& ctx, const json::object& req);
json::object get_shard_iterator(op_context& ctx, const json::object& req);
json::object get_records(op_context& ctx, const json::object& req);

}  // namespace mysfits::table::api
