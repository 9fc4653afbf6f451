// Core service routes: the page and its assets, /mysfits (all or by GSI filter), one mysfit,
// adopt and like, /metrics. Unknown routes are 404 JSON, wrong methods 405 JSON.
#include "mysfits/app/core_service.h"

#include <optional>

#include "assets.h"
#include "mysfit.h"
#include "service_kit.h"
#include "table_ops.h"

namespace mysfits::app {

namespace json = boost::json;
namespace bhttp = http::bhttp;
using detail::error_response;
using detail::routed;

namespace {

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string_view content_type_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

http::response asset_response(std::string_view name, std::string body, unsigned version) {
  http::response res{bhttp::status::ok, version};
  res.set(bhttp::field::content_type, content_type_of(name));
  res.set(bhttp::field::cache_control, name.ends_with(".html") ? "no-cache" : "max-age=300");
  res.body() = std::move(body);
  return res;
}

}  // namespace

core_service::core_service(core_options options, ddbclient::table_api& table)
    : options_(std::move(options)),
      table_(table),
      shared_(std::make_unique<detail::shared_calls>()) {}

core_service::~core_service() = default;

http::response core_service::handle(http::request& req) { return detail::answer_now(*this, req); }

void core_service::handle_async(http::request& req, std::function<void(http::response)> answer) {
  detail::instrument(
      "core", req,
      [this](http::request& r, const ddbclient::call_context& ctx,
             const detail::answer_route_fn& later) -> std::optional<routed> {
        unsigned v = r.version();
        auto target = detail::parse_target(r.target());
        if (!target.ok)
          return routed{"invalid", error_response(400, "malformed request target", v)};
        const auto& seg = target.segments;
        auto method = r.method();
        bool is_get = method == bhttp::verb::get || method == bhttp::verb::head;

        if (method == bhttp::verb::options) return routed{"preflight", detail::cors_preflight(r)};

        // GET / and the page's static files.
        if (seg.empty() || (seg.size() == 1 && seg[0] == "index.html")) {
          if (!is_get) return routed{"/", detail::method_not_allowed("GET, HEAD", v)};
          std::string page(*assets::find("index.html"));
          const std::string marker = "__MYSFITS_REGION__";
          for (auto pos = page.find(marker); pos != std::string::npos; pos = page.find(marker)) {
            page.replace(pos, marker.size(), html_escape(options_.region));
          }
          return routed{"/", asset_response("index.html", std::move(page), v)};
        }
        if ((seg.size() == 1 && (seg[0] == "app.js" || seg[0] == "app.css")) ||
            (seg.size() == 2 && seg[0] == "img")) {
          std::string name = seg.size() == 1 ? seg[0] : "img/" + seg[1];
          auto a = assets::find(name);
          if (!a) return routed{"static", error_response(404, "not found", v)};
          if (!is_get) return routed{"static", detail::method_not_allowed("GET, HEAD", v)};
          return routed{"static", asset_response(name, std::string(*a), v)};
        }
        if (seg.size() == 1 && seg[0] == "metrics") {
          if (!is_get) return routed{"/metrics", detail::method_not_allowed("GET, HEAD", v)};
          http::response res{bhttp::status::ok, v};
          res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
          res.body() = metrics::default_registry().render();
          return routed{"/metrics", std::move(res)};
        }
        if (seg.empty() || seg[0] != "mysfits" || seg.size() > 3) {
          return routed{"unmatched", error_response(404, "no such route", v)};
        }

        // GET /mysfits[?filter=GoodEvil|LawChaos&value=…]
        if (seg.size() == 1) {
          if (!is_get) return routed{"/mysfits", detail::method_not_allowed("GET, HEAD", v)};
          auto filter = target.params.find("filter");
          std::string filter_name, filter_value;
          if (filter != target.params.end() && !filter->second.empty()) {
            if (filter->second != "GoodEvil" && filter->second != "LawChaos") {
              return routed{"/mysfits",
                            error_response(400, "filter must be GoodEvil or LawChaos", v)};
            }
            auto value = target.params.find("value");
            if (value == target.params.end() || value->second.empty() ||
                value->second.size() > 64) {
              return routed{"/mysfits", error_response(400, "value is required with filter", v)};
            }
            filter_name = filter->second;
            filter_value = value->second;
          }
          detail::list_async(*shared_, table_, options_.table_name, filter_name, filter_value, ctx,
                             v, [later](http::response res) {
                               later(routed{"/mysfits", std::move(res)});
                             });
          return std::nullopt;
        }

        const std::string& id = seg[1];
        std::string route = seg.size() == 2 ? "/mysfits/{id}" : "/mysfits/{id}/" + seg[2];
        if (seg.size() == 3 && seg[2] != "adopt" && seg[2] != "like") {
          return routed{"unmatched", error_response(404, "no such route", v)};
        }
        bool wants_post = seg.size() == 3;
        if (wants_post && method != bhttp::verb::post) {
          return routed{route, detail::method_not_allowed("POST", v)};
        }
        if (!wants_post && !is_get)
          return routed{route, detail::method_not_allowed("GET, HEAD", v)};
        if (!is_valid_mysfit_id(id))
          return routed{route, error_response(400, "invalid mysfit id", v)};
        if (wants_post) {
          // Adopt and like write: not once the request's deadline has passed.
          if (auto refused =
                  detail::refuse_after_deadline(r, "core", route, options_.deadline_tolerance)) {
            return routed{route, std::move(*refused)};
          }
        }

        if (seg.size() == 2) {
          // On the shared-call threads, so the request thread serves its other connections.
          shared_->run([this, id, ctx, v, later, route] {
            auto item = detail::get_mysfit(table_, options_.table_name, id, ctx);
            if (!item) return later(routed{route, detail::table_error_response(item.error(), v)});
            if (!item->has_value())
              return later(routed{route, error_response(404, "no such mysfit", v)});
            later(routed{route, detail::json_response(200, to_json(**item), v)});
          });
          return std::nullopt;
        }
        if (seg[2] == "adopt") {
          shared_->run([this, id, write_ctx = detail::with_deadline(r, ctx), v, later, route] {
            auto done = detail::adopt_mysfit(table_, options_.table_name, id, write_ctx);
            if (!done) return later(routed{route, detail::table_error_response(done.error(), v)});
            if (*done == detail::write_outcome::not_found)
              return later(routed{route, error_response(404, "no such mysfit", v)});
            if (*done == detail::write_outcome::conflict)
              return later(routed{route, error_response(409, "already adopted", v)});
            later(routed{
                route,
                detail::json_response(
                    200, json::object{{"Update", "Success"}, {"mysfitId", id}, {"adopted", true}},
                    v)});
          });
          return std::nullopt;
        }
        detail::like_async(*shared_, table_, options_.table_name, id, detail::with_deadline(r, ctx),
                           v, [later, route](http::response res) {
                             later(routed{route, std::move(res)});
                           });
        return std::nullopt;
      },
      std::move(answer));
}

}  // namespace mysfits::app
