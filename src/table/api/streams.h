// DynamoDB Streams building blocks shared by ops_table.cc (enabling / disabling a stream) and
// ops_streams.cc (the DynamoDBStreams_20120810 operations): the stream history kept in the table
// description, stream ARNs, sequence-number text and shard iterators. Unit-tested directly.
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Operations_Amazon_DynamoDB_Streams.html
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/ops.h"
#include "storage/catalog.h"

namespace mysfits::table::api::streams {

// One stream of a table. A table has at most one ENABLED stream (its current label); every
// stream it had before stays listed as DISABLED, its records readable until trimmed.
struct stream_info {
  std::string label;
  std::string view_type;
  bool enabled = false;
  // For a disabled stream: the table's last stream sequence number when it was disabled (the end
  // of its shard). 0 when unknown.
  std::uint64_t last_sequence = 0;
};

// The table's streams, oldest first (the current label, if any, last).
[[nodiscard]] std::vector<stream_info> streams_of(const storage::table_info& t);
// The stream with this label, if the table has (had) it.
[[nodiscard]] std::optional<stream_info> find_stream(const storage::table_info& t,
                                                     std::string_view label);

// Marks the current stream disabled, remembering where its shard ends.
void disable_stream(storage::table_info& t, std::uint64_t last_sequence);

// arn:aws:dynamodb:REGION:000000000000:table/NAME/stream/LABEL
[[nodiscard]] std::string stream_arn(const op_context& ctx, std::string_view table,
                                     std::string_view label);
struct stream_arn_parts {
  std::string table;
  std::string label;
};
// The table name and label of a stream ARN of this region; nullopt if it is not one.
[[nodiscard]] std::optional<stream_arn_parts> parse_stream_arn(const op_context& ctx,
                                                               std::string_view arn);

// A stream label is the enabling time, "YYYY-MM-DDTHH:MM:SS.mmm" (UTC), as DynamoDB's are.
[[nodiscard]] std::string make_label(std::uint64_t epoch_ms);
// Seconds since the epoch of a label (0 if it is not one).
[[nodiscard]] double label_time(std::string_view label);

// The one shard of a stream: "shardId-" + 20 digits + "-" + 8 hex, stable for the stream.
[[nodiscard]] std::string shard_id(const storage::table_info& t, std::string_view label);

// Sequence numbers on the wire: 21 decimal digits ("1" then the table's sequence number padded
// to 20 digits), which keeps them numerically ordered like DynamoDB's.
[[nodiscard]] std::string format_sequence_number(std::uint64_t seq);
// nullopt unless `text` is such a number.
[[nodiscard]] std::optional<std::uint64_t> parse_sequence_number(std::string_view text);

// A shard iterator: which stream, the position (the last sequence number consumed: records
// after it come next) and when it was handed out. Opaque on the wire, checksummed, valid
// iterator_lifetime_ms after issue; it holds no server state, so it survives a restart.
struct shard_iterator {
  std::string stream_arn;
  std::uint64_t table_id = 0;
  std::uint64_t after = 0;
  std::uint64_t issued_ms = 0;
};
inline constexpr std::uint64_t iterator_lifetime_ms = 15 * 60 * 1000;
[[nodiscard]] std::string encode_iterator(const shard_iterator& it);
// nullopt for text encode_iterator cannot have produced (or that was altered).
[[nodiscard]] std::optional<shard_iterator> decode_iterator(std::string_view text);

// Milliseconds since the epoch, from the system clock.
[[nodiscard]] std::uint64_t now_ms();

}  // namespace mysfits::table::api::streams
