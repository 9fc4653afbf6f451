// Control API request mapping: path segments → control_plane calls, JSON in and out; the one
// place control errors become HTTP statuses.
#include "control/control_api.h"

#include <boost/json.hpp>
#include <boost/url.hpp>
#include <cmath>
#include <vector>

#include "mysfits/common/metrics.h"

namespace mysfits::edge {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

namespace {

http::response json_response(unsigned status, const json::value& v) {
  http::response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = json::serialize(v);
  res.prepare_payload();
  return res;
}

http::response from_error(const error& e) {
  unsigned status = 400;
  if (e.code == errc::not_found) status = 404;
  if (e.code == errc::already_exists) status = 409;
  if (e.code == errc::internal || e.code == errc::io) status = 500;
  return http::json_error(status, e.message);
}

http::response ok_response() { return json_response(200, json::object{{"ok", true}}); }

// Reads a number field of a JSON body, with the field named in the error.
result<double> body_number(const std::string& body, const char* field) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return error::invalid_argument("body must be a JSON object");
  const auto* f = v.get_object().if_contains(field);
  if (!f || !(f->is_number()))
    return error::invalid_argument(std::string(field) + ": must be a number");
  return f->to_number<double>();
}

result<target_config> body_target(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return error::invalid_argument("body must be a JSON object");
  const auto& o = v.get_object();
  const json::value* id = o.if_contains("Id");
  if (!id) id = o.if_contains("EndpointId");
  if (!id || !id->is_string()) return error::invalid_argument("Id: must be a string host:port");
  std::string ids(id->get_string());
  if (const auto* p = o.if_contains("Port")) {
    if (!p->is_int64() || p->get_int64() < 1 || p->get_int64() > 65535) {
      return error::invalid_argument("Port: must be 1..65535");
    }
    ids += ":" + std::to_string(p->get_int64());
  }
  auto t = parse_target_id(ids);
  if (!t) return error::invalid_argument("Id: " + t.error().message);
  if (const auto* w = o.if_contains("Weight")) {
    if (!w->is_int64() || w->get_int64() < 0 || w->get_int64() > 255) {
      return error::invalid_argument("Weight: must be 0..255");
    }
    t->weight = static_cast<int>(w->get_int64());
  }
  return t;
}

}  // namespace

http::response handle_control_request(control_plane& plane, http::request& req) {
  auto parsed = boost::urls::parse_origin_form(req.target());
  if (!parsed) return http::json_error(400, "bad request target");
  std::vector<std::string> seg;
  for (auto s : parsed->segments()) seg.push_back(s);
  const auto method = req.method();
  const bool get = method == bhttp::verb::get;

  if (seg.size() == 1) {
    if (seg[0] == "metrics" && get) {
      http::response res{bhttp::status::ok, 11};
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
      res.body() = metrics::default_registry().render();
      res.prepare_payload();
      return res;
    }
    if (seg[0] == "state" && get) return json_response(200, plane.state());
    if ((seg[0] == "health" || seg[0] == "counters") && get) {
      // Views of the state: health per target, or counters per target.
      json::object out;
      auto st = plane.state();
      for (const auto& g : st["Groups"].as_array()) {
        json::object per;
        for (const auto& t : g.at("Targets").as_array()) {
          const auto& to = t.as_object();
          if (seg[0] == "health") {
            per[to.at("Id").as_string()] = to.at("Health");
          } else {
            per[to.at("Id").as_string()] = json::object{{"Requests", to.at("Requests")},
                                                        {"Outstanding", to.at("Outstanding")}};
          }
        }
        out[g.at("Name").as_string()] = std::move(per);
      }
      return json_response(200, out);
    }
  }
  if (seg.size() >= 2 && seg[0] == "groups") {
    const std::string& group = seg[1];
    if (seg.size() == 3 && seg[2] == "dial" && method == bhttp::verb::put) {
      auto n = body_number(req.body(), "TrafficDialPercentage");
      if (!n) return from_error(n.error());
      if (!(*n >= 0 && *n <= 100)) {
        return http::json_error(400, "TrafficDialPercentage: must be 0..100");
      }
      auto r = plane.set_traffic_dial(group, *n);
      return r ? ok_response() : from_error(r.error());
    }
    if (seg.size() == 3 && seg[2] == "targets" && method == bhttp::verb::post) {
      auto t = body_target(req.body());
      if (!t) return from_error(t.error());
      auto r = plane.register_target(group, *t);
      return r ? ok_response() : from_error(r.error());
    }
    if (seg.size() == 5 && seg[2] == "targets" && seg[4] == "weight" &&
        method == bhttp::verb::put) {
      auto n = body_number(req.body(), "Weight");
      if (!n) return from_error(n.error());
      if (!(*n >= 0 && *n <= 255) || *n != std::floor(*n)) {
        return http::json_error(400, "Weight: must be 0..255");
      }
      auto r = plane.set_weight(group, seg[3], static_cast<int>(*n));
      return r ? ok_response() : from_error(r.error());
    }
    if ((seg.size() == 4 && seg[2] == "targets" && method == bhttp::verb::delete_) ||
        (seg.size() == 5 && seg[2] == "targets" && seg[4] == "deregister" &&
         method == bhttp::verb::post)) {
      auto r = plane.deregister_target(group, seg[3]);
      return r ? ok_response() : from_error(r.error());
    }
  }
  return http::json_error(404, "no such control resource: " + std::string(req.method_string()) +
                                   " " + std::string(req.target()));
}

}  // namespace mysfits::edge
