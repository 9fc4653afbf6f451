// replication::regions: the regions file of global tables (issue 3) — a JSON object from region
// name to the endpoint URL of that region's mysfits-table, the local stand-in for AWS's regional
// endpoints: {"us-west-2": "http://127.0.0.1:8000", "us-east-1": "http://127.0.0.1:8001"}.
// Every engine of a deployment reads the same kind of file (its own region must be in it).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "mysfits/common/result.h"

namespace mysfits::table::replication {

// Region name → endpoint URL ("http://host:port" or "https://host[:port]").
using region_map = std::map<std::string, std::string, std::less<>>;

// Parses the file's text. Errors name what is wrong: not JSON, not an object, an empty object, a
// region name that is not lowercase letters, digits and dashes, a URL that is not http(s).
[[nodiscard]] result<region_map> parse_regions(std::string_view json_text);
// Reads and parses FILE; the error names the file.
[[nodiscard]] result<region_map> load_regions_file(const std::string& path);

}  // namespace mysfits::table::replication
