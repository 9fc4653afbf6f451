// The regions file parser (regions.h).
#include "replication/regions.h"

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>

#include "mysfits/ddbclient/client.h"

namespace mysfits::table::replication {

result<region_map> parse_regions(std::string_view json_text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json_text, ec);
  if (ec) return error::invalid_argument("regions file is not valid JSON: " + ec.message());
  if (!v.is_object())
    return error::invalid_argument(
        "regions file must be a JSON object from region name to endpoint URL, e.g. "
        "{\"us-west-2\": \"http://127.0.0.1:8000\"}");
  region_map out;
  for (const auto& kv : v.as_object()) {
    std::string name(kv.key());
    bool valid_name = !name.empty() && name.size() <= 64;
    for (char c : name)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) valid_name = false;
    if (!valid_name)
      return error::invalid_argument("regions file: invalid region name '" + name +
                                     "' (lowercase letters, digits and dashes, e.g. us-east-1)");
    if (!kv.value().is_string())
      return error::invalid_argument("regions file: the endpoint of region " + name +
                                     " must be a URL string");
    std::string url(kv.value().as_string());
    auto e = ddbclient::parse_endpoint(url);
    if (!e)
      return error::invalid_argument("regions file: region " + name + " has an invalid URL '" +
                                     url + "': " + e.error().message);
    out[name] = url;
  }
  if (out.empty()) return error::invalid_argument("regions file names no region");
  return out;
}

result<region_map> load_regions_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return error::io("cannot read regions file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = parse_regions(ss.str());
  if (!r) return error{r.error().code, path + ": " + r.error().message};
  return r;
}

}  // namespace mysfits::table::replication
