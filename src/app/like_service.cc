// Like service routes: GET / (health), POST /mysfits/{id}/like, /metrics; chaos mode.
#include "mysfits/app/like_service.h"

#include <random>

#include "mysfit.h"
#include "service_kit.h"
#include "table_ops.h"

namespace mysfits::app {

namespace json = boost::json;
namespace bhttp = http::bhttp;
using detail::error_response;
using detail::routed;

like_service::like_service(like_options options, ddbclient::table_api& table)
    : options_(std::move(options)),
      table_(table),
      shared_(std::make_unique<detail::shared_calls>()) {
  if (!options_.random) {
    options_.random = [] {
      thread_local std::mt19937_64 gen{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
    };
  }
}

like_service::~like_service() = default;

http::response like_service::handle(http::request& req) { return detail::answer_now(*this, req); }

void like_service::handle_async(http::request& req, std::function<void(http::response)> answer) {
  detail::instrument(
      "like", req,
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

        if (seg.empty()) {
          if (!is_get) return routed{"/", detail::method_not_allowed("GET, HEAD", v)};
          return routed{
              "/", detail::json_response(
                       200, json::object{{"status", "healthy"}, {"service", "mysfits-like"}}, v)};
        }
        if (seg.size() == 1 && seg[0] == "metrics") {
          if (!is_get) return routed{"/metrics", detail::method_not_allowed("GET, HEAD", v)};
          http::response res{bhttp::status::ok, v};
          res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
          res.body() = metrics::default_registry().render();
          return routed{"/metrics", std::move(res)};
        }
        if (seg.size() != 3 || seg[0] != "mysfits" || seg[2] != "like") {
          return routed{"unmatched", error_response(404, "no such route", v)};
        }
        const std::string route = "/mysfits/{id}/like";
        if (method != bhttp::verb::post)
          return routed{route, detail::method_not_allowed("POST", v)};
        const std::string& id = seg[1];
        if (!is_valid_mysfit_id(id))
          return routed{route, error_response(400, "invalid mysfit id", v)};
        // A like the accelerator has given up on (and may have resent to another region) is
        // not applied here too.
        if (auto refused =
                detail::refuse_after_deadline(r, "like", route, options_.deadline_tolerance)) {
          return routed{route, std::move(*refused)};
        }

        if (options_.chaos_mode) {
          double roll = options_.random();
          if (roll < 0.3)
            return routed{route, error_response(500, "chaos mode: injected failure", v)};
          if (roll < 0.6)
            return routed{route, error_response(404, "chaos mode: injected not found", v)};
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
