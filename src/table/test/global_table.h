// The global table the replication and group-commit tests share: "G", hash key "h" (S), a
// stream with both images (as every global table has) and an ACTIVE replica in us-east-1.
#pragma once

#include "storage/table_store.h"

namespace mysfits::table::testing {

inline storage::table_info global_table_info() {
  storage::table_info t;
  t.name = "G";
  t.keys.hash_name = "h";
  t.keys.hash_type = key_type::s;
  t.stream_enabled = true;
  t.stream_view_type = "NEW_AND_OLD_IMAGES";
  t.replicas.push_back({"us-east-1", "ACTIVE"});
  return t;
}

}  // namespace mysfits::table::testing
