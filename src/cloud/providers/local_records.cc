// Record files of the local cloud; see local_records.h.
#include "providers/local_records.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "registry/oci_layout.h"

namespace mysfits::cloud::records {
namespace fs = std::filesystem;
namespace json = boost::json;

std::optional<json::object> read_object(const fs::path& p) {
  auto text = oci::read_file(p);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

region_settings read_region(const fs::path& state, const std::string& region) {
  region_settings s;
  if (auto o = read_object(state / "regions" / (region + ".json"))) {
    if (auto* p = o->if_contains("address_prefix"); p && p->is_string())
      s.address_prefix = p->as_string();
    if (auto* t = o->if_contains("table_endpoint"); t && t->is_string())
      s.table_endpoint = t->as_string();
  }
  return s;
}

result<void> write_region(const fs::path& state, const std::string& region,
                          const region_settings& s) {
  json::object o{{"address_prefix", s.address_prefix}, {"table_endpoint", s.table_endpoint}};
  return oci::write_file_atomically(state / "regions" / (region + ".json"), json::serialize(o));
}

std::string arn_id(std::string_view arn) {
  auto slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn : arn.substr(slash + 1));
}

fs::path kind_dir(const fs::path& state, std::string_view service, std::string_view region,
                  std::string_view kind) {
  return state / service / region / kind;
}

result<void> put(const fs::path& state, std::string_view service, std::string_view region,
                 std::string_view kind, const json::object& record) {
  auto* arn = record.if_contains("Arn");
  if (!arn || !arn->is_string()) return error::internal("a record needs an Arn");
  return oci::write_file_atomically(
      kind_dir(state, service, region, kind) / (arn_id(arn->as_string()) + ".json"),
      json::serialize(record));
}

void remove(const fs::path& state, std::string_view service, std::string_view region,
            std::string_view kind, std::string_view arn) {
  std::error_code ec;
  fs::remove(kind_dir(state, service, region, kind) / (arn_id(arn) + ".json"), ec);
}

std::vector<json::object> list(const fs::path& state, std::string_view service,
                               std::string_view region, std::string_view kind) {
  std::vector<std::pair<std::string, json::object>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kind_dir(state, service, region, kind), ec)) {
    if (e.path().extension() != ".json") continue;
    if (auto o = read_object(e.path())) found.emplace_back(e.path().filename().string(), *o);
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<json::object> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::optional<json::object> find(const fs::path& state, std::string_view service,
                                 std::string_view region, std::string_view kind,
                                 std::string_view arn) {
  auto o = read_object(kind_dir(state, service, region, kind) / (arn_id(arn) + ".json"));
  if (!o) return std::nullopt;
  auto* a = o->if_contains("Arn");
  if (!a || !a->is_string() || a->as_string() != arn) return std::nullopt;
  return o;
}

std::optional<json::object> find_any_region(const fs::path& state, std::string_view service,
                                            std::string_view kind, std::string_view arn) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state / service, ec)) {
    if (!e.is_directory()) continue;
    if (auto o = find(state, service, e.path().filename().string(), kind, arn)) return o;
  }
  return std::nullopt;
}

std::string fingerprint(const fs::path& dir) {
  std::vector<std::string> parts;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    auto t = fs::last_write_time(it->path(), ec);
    parts.push_back(fmt::format("{}@{}:{}", it->path().string(), t.time_since_epoch().count(),
                                fs::file_size(it->path(), ec)));
  }
  std::sort(parts.begin(), parts.end());
  return fmt::format("{}", fmt::join(parts, ";"));
}

result<int> free_port(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return error::io("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    ::close(fd);
    return error::invalid_argument("not an IPv4 address: " + host);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return error::io("cannot bind " + host);
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return static_cast<int>(ntohs(a.sin_port));
}

json::value numeric(const json::value& v) {
  if (!v.is_string()) return v;
  std::string_view s = v.as_string();
  if (s.empty()) return v;
  long long i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size())
    return json::value(static_cast<std::int64_t>(i));
  double d = 0;
  auto [p2, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec2 == std::errc() && p2 == s.data() + s.size()) return json::value(d);
  return v;
}

}  // namespace mysfits::cloud::records
