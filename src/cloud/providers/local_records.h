// Desired-state records of the local cloud's load balancers and accelerators, and each region's
// local settings, as JSON files under the state directory:
//   <state>/regions/<region>.json                      {"address_prefix", "table_endpoint"}
//   <state>/elb/<region>/<kind>/<id>.json             load-balancers, listeners, rules,
//   target-groups <state>/globalaccelerator/global/<kind>/<id>.json accelerators, listeners,
//   endpoint-groups <state>/<service>/<region>/runtime/<id>.json      written by agents:
//   {"url","control","pid"}
// Stack deploys write the records; agents read them and run mysfits-edge processes.
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::cloud::records {

struct region_settings {
  std::string address_prefix;  // e.g. "127.0.1" (the region's loopback block); empty: unknown
  std::string table_endpoint;  // e.g. "http://127.0.1.2:41001"; empty: none
};
region_settings read_region(const std::filesystem::path& state, const std::string& region);
[[nodiscard]] result<void> write_region(const std::filesystem::path& state,
                                        const std::string& region, const region_settings& s);

// The last '/'-separated segment of an ARN (the unique id the local cloud gives it).
std::string arn_id(std::string_view arn);

std::filesystem::path kind_dir(const std::filesystem::path& state, std::string_view service,
                               std::string_view region, std::string_view kind);
// Writes a record; it must hold "Arn".
[[nodiscard]] result<void> put(const std::filesystem::path& state, std::string_view service,
                               std::string_view region, std::string_view kind,
                               const boost::json::object& record);
void remove(const std::filesystem::path& state, std::string_view service, std::string_view region,
            std::string_view kind, std::string_view arn);
std::vector<boost::json::object> list(const std::filesystem::path& state, std::string_view service,
                                      std::string_view region, std::string_view kind);
std::optional<boost::json::object> find(const std::filesystem::path& state,
                                        std::string_view service, std::string_view region,
                                        std::string_view kind, std::string_view arn);
// Finds a record of `kind` by ARN in any region of `service`.
std::optional<boost::json::object> find_any_region(const std::filesystem::path& state,
                                                   std::string_view service, std::string_view kind,
                                                   std::string_view arn);
// Changes whenever a record under the directory changes.
std::string fingerprint(const std::filesystem::path& dir);

// A TCP port on `host` that is free now (bind to port 0, read it, close).
[[nodiscard]] result<int> free_port(const std::string& host);

// Reads a JSON object file; nullopt when missing or damaged.
std::optional<boost::json::object> read_object(const std::filesystem::path& p);

// Numbers in templates often arrive as strings ("10"); this gives the number (int or double)
// for numeric strings and leaves anything else alone.
boost::json::value numeric(const boost::json::value& v);

}  // namespace mysfits::cloud::records
