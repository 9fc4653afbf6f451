// replication::wire: the compact form of the records a PullChanges answer carries when the
// puller asks for "Format": "raw" (replicator.cc). Each change is one frame,
//   [frame length(4)][seq(8)][ts(8)][flags(1): 1 = delete][origin length(1)][origin]
//   [item length(4)][item JSON text][deltas length(4)][deltas JSON text (length 0: none)]
// (integers big-endian), and the frames of one table travel as one base64 string, like the
// Snapshot API's raw pages. The item texts are the stored ones, copied without parsing on the
// serving side and parsed once here, into one arena per answer.
#pragma once

#include <boost/json/storage_ptr.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mysfits/common/result.h"
#include "storage/table_store.h"

namespace mysfits::table::replication::wire {

// Appends one change's frame to `out`. For a delete, `item_json` holds the item's keys.
void append_change(std::string& out, std::uint64_t sequence, std::uint64_t timestamp_us,
                   std::string_view origin, bool is_delete, std::string_view item_json,
                   std::string_view deltas_json);

[[nodiscard]] std::string to_base64(std::string_view bytes);

// Decodes a table's base64 string of frames: `bytes` receives the decoded frames (the changes'
// item_json views point into it: the caller keeps it alive and unmoved while they are used),
// items and deltas are parsed with `arena`. Any malformed part — not base64, a cut frame, an
// item that is not a JSON object, an empty origin — fails the whole string (invalid_argument,
// naming the problem): a puller never applies part of an answer.
[[nodiscard]] result<std::vector<storage::remote_change>> decode_changes(
    std::string_view base64_text, std::string& bytes, boost::json::storage_ptr arena);

}  // namespace mysfits::table::replication::wire
