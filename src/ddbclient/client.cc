// DynamoDB client: endpoint resolution, the pooled connections (plain TCP or TLS, one small
// io_context each so calls stay synchronous but every step has a deadline), SigV4 signing, the
// standard retry mode and the mapping of DynamoDB's error bodies to api_error.
#include "mysfits/ddbclient/client.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <variant>

#include "mysfits/common/metrics.h"
#include "mysfits/ddbclient/sigv4.h"

namespace mysfits::ddbclient {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

void throw_exception_from_error(const api_error& e, const boost::source_location&) {
  throw std::runtime_error(e.type + ": " + e.message);
}

std::string endpoint::host_header() const {
  bool default_port = (is_tls() && port == 443) || (!is_tls() && port == 80);
  return default_port ? host : host + ":" + std::to_string(port);
}

std::string endpoint::url() const { return scheme + "://" + host_header(); }

result<endpoint> parse_endpoint(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return error::invalid_argument("not a URL: " + std::string(url));
  endpoint e;
  e.scheme = u->scheme();
  if (e.scheme != "http" && e.scheme != "https") {
    return error::invalid_argument("endpoint scheme must be http or https: " + std::string(url));
  }
  e.host = u->host();
  if (e.host.empty()) return error::invalid_argument("endpoint has no host: " + std::string(url));
  e.port = u->has_port() ? u->port_number() : (e.is_tls() ? 443 : 80);
  return e;
}

std::string resolve_region(const env_lookup& env) {
  if (auto r = env("AWS_REGION")) return *r;
  if (auto r = env("AWS_DEFAULT_REGION")) return *r;
  return "us-east-1";
}

result<endpoint> resolve_endpoint(std::string_view region, const env_lookup& env) {
  if (auto u = env("AWS_ENDPOINT_URL_DYNAMODB")) return parse_endpoint(*u);
  if (auto u = env("AWS_ENDPOINT_URL")) return parse_endpoint(*u);
  return parse_endpoint("https://dynamodb." + std::string(region) + ".amazonaws.com");
}

bool is_retryable(const api_error& e) {
  static const char* const throttling[] = {"Throttling",
                                           "ThrottlingException",
                                           "ThrottledException",
                                           "RequestThrottledException",
                                           "TooManyRequestsException",
                                           "ProvisionedThroughputExceededException",
                                           "TransactionInProgressException",
                                           "RequestLimitExceeded",
                                           "BandwidthLimitExceeded",
                                           "LimitExceededException",
                                           "RequestThrottled",
                                           "SlowDown",
                                           "PriorRequestNotComplete",
                                           "EC2ThrottledException"};
  for (const char* t : throttling) {
    if (e.type == t) return true;
  }
  if (e.type == "RequestTimeout" || e.type == "RequestTimeoutException" ||
      e.type == "InternalError" || e.type == "InternalServerError") {
    return true;
  }
  return e.http_status == 0 || e.http_status >= 500;
}

call_result<json::array> paginate(table_api& t, std::string_view op, json::object request,
                                  const call_context& ctx) {
  // The first page's array is taken whole (a move keeps the memory it was parsed into); later
  // pages append to it.
  std::optional<json::array> items;
  for (;;) {
    auto page = t.call(op, request, ctx);
    if (!page) return page.error();
    if (auto* it = page->if_contains("Items"); it && it->is_array()) {
      if (!items) {
        items.emplace(std::move(it->as_array()));
      } else {
        for (auto& v : it->as_array()) items->push_back(std::move(v));
      }
    }
    auto* last = page->if_contains("LastEvaluatedKey");
    if (last == nullptr || !last->is_object() || last->as_object().empty()) break;
    request["ExclusiveStartKey"] = std::move(*last);
  }
  if (!items) return json::array{};
  return std::move(*items);
}

namespace {

// DynamoDB items nest 32 levels of M/L, two JSON levels each, inside the response's envelope;
// Boost.JSON's default depth (32) would refuse a Scan page holding an item nested 14 deep.
json::parse_options response_parse_options() {
  json::parse_options o;
  o.max_depth = 128;
  return o;
}

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

struct connection {
  asio::io_context io{1};
  std::variant<std::monostate, plain_stream, tls_stream> stream;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;

  beast::tcp_stream& lowest() {
    if (auto* p = std::get_if<plain_stream>(&stream)) return *p;
    return beast::get_lowest_layer(std::get<tls_stream>(stream));
  }

  // Runs the operation started by `start` until it completes or `timeout` passes. The bound is
  // run_for's: no stream timer is armed and cancelled per operation (each cost the reactor's
  // timer lock and often a timerfd system call). An operation still pending when it returns
  // leaves the connection unusable: callers drop it on any error.
  template <class Start>
  beast::error_code run(std::chrono::milliseconds timeout, Start&& start) {
    beast::error_code result = asio::error::would_block;
    lowest().expires_never();
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run_for(timeout);
    if (result == asio::error::would_block) result = beast::error::timeout;
    return result;
  }
};

api_error transport_error(const beast::error_code& ec, std::string_view what) {
  bool timeout = ec == beast::error::timeout || ec == asio::error::timed_out;
  return {timeout ? "RequestTimeout" : "ConnectionError", std::string(what) + ": " + ec.message(),
          0};
}

api_error parse_error_body(unsigned status, const std::string& body) {
  api_error e{"", "", status};
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    if (auto* t = o.if_contains("__type"); t && t->is_string()) {
      std::string_view type = t->as_string();
      auto hash = type.rfind('#');
      e.type = std::string(hash == std::string_view::npos ? type : type.substr(hash + 1));
    }
    for (const char* key : {"message", "Message"}) {
      if (auto* m = o.if_contains(key); m && m->is_string()) e.message = m->as_string();
    }
  }
  if (e.type.empty()) {
    e.type = status >= 500 ? "InternalServerError" : "HttpError";
    if (e.message.empty())
      e.message = "HTTP " + std::to_string(status) + ": " + body.substr(0, 200);
  }
  return e;
}

struct client_metrics {
  metrics::counter& attempts_ok;
  metrics::counter& attempts_failed;
  metrics::counter& retries;
  metrics::counter& connections_opened;
  metrics::histogram& latency;
  client_metrics()
      : attempts_ok(metrics::default_registry().get_counter("mysfits_ddbclient_attempts_total",
                                                            "DynamoDB request attempts by outcome",
                                                            {{"outcome", "ok"}})),
        attempts_failed(metrics::default_registry().get_counter(
            "mysfits_ddbclient_attempts_total", "DynamoDB request attempts by outcome",
            {{"outcome", "error"}})),
        retries(metrics::default_registry().get_counter("mysfits_ddbclient_retries_total",
                                                        "DynamoDB request retries")),
        connections_opened(metrics::default_registry().get_counter(
            "mysfits_ddbclient_connections_opened_total", "Connections opened to the table")),
        latency(metrics::default_registry().get_histogram(
            "mysfits_ddbclient_call_duration_seconds", "DynamoDB call latency, retries included")) {
  }
};

}  // namespace

struct client::impl {
  client_options opts;
  endpoint target;
  std::optional<error> config_error;
  ssl::context tls_ctx{ssl::context::tls_client};
  std::mutex mu;
  std::deque<std::unique_ptr<connection>> idle;
  std::atomic<int> quota;
  std::atomic<std::uint64_t> opened{0}, reused{0}, attempts{0}, retries{0};
  client_metrics m;

  std::string host_header;  // target.host_header(), computed once

  explicit impl(client_options o) : opts(std::move(o)), quota(opts.retry_quota) {
    auto env = process_env();
    if (opts.region.empty()) opts.region = resolve_region(env);
    if (opts.endpoint_override) {
      target = *opts.endpoint_override;
    } else if (auto e = resolve_endpoint(opts.region, env)) {
      target = *e;
    } else {
      config_error = e.error();
    }
    if (!opts.credentials) opts.credentials = default_credentials_chain();
    if (!opts.random) {
      opts.random = [] {
        thread_local std::mt19937_64 gen{std::random_device{}()};
        return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
      };
    }
    if (!opts.sleep)
      opts.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
    if (!opts.clock) opts.clock = [] { return std::chrono::system_clock::now(); };
    if (opts.ca_file.empty()) {
      tls_ctx.set_default_verify_paths();
    } else {
      boost::system::error_code ec;
      tls_ctx.load_verify_file(opts.ca_file, ec);
      if (ec) config_error = error::invalid_argument("cannot load CA file " + opts.ca_file);
    }
    tls_ctx.set_verify_mode(ssl::verify_peer);
    host_header = target.host_header();
  }

  bool is_aws() const {
    return target.host.ends_with(".amazonaws.com") || target.host.ends_with(".amazonaws.com.cn");
  }

  std::unique_ptr<connection> take_idle() {
    std::lock_guard lock(mu);
    auto now = std::chrono::steady_clock::now();
    while (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      if (now - c->idle_since < opts.max_idle_time) return c;
    }
    return nullptr;
  }

  void flush_idle() {
    std::lock_guard lock(mu);
    idle.clear();
  }

  void give_back(std::unique_ptr<connection> c) {
    c->idle_since = std::chrono::steady_clock::now();
    std::lock_guard lock(mu);
    if (idle.size() < opts.max_idle_connections) idle.push_back(std::move(c));
  }

  call_result<std::unique_ptr<connection>> connect() {
    auto c = std::make_unique<connection>();
    tcp::resolver resolver(c->io);
    tcp::resolver::results_type results;
    beast::error_code ec = asio::error::would_block;
    resolver.async_resolve(target.host, std::to_string(target.port),
                           [&](beast::error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             results = std::move(r);
                           });
    c->io.run_for(opts.connect_timeout);
    if (ec == asio::error::would_block) ec = beast::error::timeout;
    if (ec) return transport_error(ec, "resolve " + target.host);
    if (target.is_tls()) {
      c->stream.emplace<tls_stream>(c->io, tls_ctx);
      auto& s = std::get<tls_stream>(c->stream);
      if (!SSL_set_tlsext_host_name(s.native_handle(), target.host.c_str())) {
        return api_error{"ConnectionError", "cannot set TLS SNI", 0};
      }
      s.set_verify_callback(ssl::host_name_verification(target.host));
    } else {
      c->stream.emplace<plain_stream>(c->io);
    }
    ec = c->run(opts.connect_timeout, [&](auto handler) {
      c->lowest().async_connect(
          results, [h = std::move(handler)](beast::error_code e, const tcp::endpoint&) { h(e); });
    });
    if (ec) return transport_error(ec, "connect " + target.url());
    if (target.is_tls()) {
      ec = c->run(opts.connect_timeout, [&](auto handler) {
        std::get<tls_stream>(c->stream).async_handshake(ssl::stream_base::client,
                                                        std::move(handler));
      });
      if (ec) return transport_error(ec, "TLS handshake with " + target.host);
    }
    // Room for a whole answer of the usual size up front: Beast reads into the free space of
    // the buffer, at least 512 bytes, so a new buffer took a Scan page in a dozen reads (each one
    // more pass through the io_context and the system call behind it).
    c->buffer.reserve(64 * 1024);
    opened.fetch_add(1, std::memory_order_relaxed);
    m.connections_opened.inc();
    return c;
  }

  // One attempt: a (pooled or new) connection, one request, one response.
  call_result<std::string> attempt(std::string_view op, const std::string& payload,
                                   const call_context& ctx) {
    auto creds = opts.credentials->get();
    credentials use;
    if (creds) {
      use = *creds;
    } else if (creds.error().code == errc::not_found && !is_aws()) {
      use = credentials{"local", "local", "", std::nullopt};  // local engines do not check keys
    } else {
      return api_error{"MissingAuthenticationToken", creds.error().message, 0};
    }

    // The request as it goes on the wire, in one buffer written with one call: Beast's
    // serializer walked a header list it first had to build, field by field.
    std::string target_header;
    target_header.reserve(opts.target_prefix.size() + 1 + op.size());
    target_header += opts.target_prefix;
    target_header += '.';
    target_header += op;
    constexpr std::string_view content_type = "application/x-amz-json-1.0";
    auto sig = sigv4::sign_json_post(host_header, target_header, content_type, payload, use,
                                     opts.region, "dynamodb", opts.clock());
    std::string wire;
    wire.reserve(320 + host_header.size() + target_header.size() + sig.authorization.size() +
                 use.session_token.size() + ctx.trace_header.size() + ctx.trace_value.size() +
                 payload.size());
    auto field = [&wire](std::string_view name, std::string_view value) {
      wire += name;
      wire += ": ";
      wire += value;
      wire += "\r\n";
    };
    wire += "POST / HTTP/1.1\r\n";
    field("Content-Type", content_type);
    field("Host", host_header);
    field("X-Amz-Target", target_header);
    field("X-Amz-Date", sig.amz_date);
    if (!use.session_token.empty()) field("X-Amz-Security-Token", use.session_token);
    field("Authorization", sig.authorization);
    field("User-Agent", "mysfits-ddbclient/0.1");
    if (!ctx.trace_header.empty()) field(ctx.trace_header, ctx.trace_value);
    char deadline[24];
    if (ctx.deadline_ms > 0) {
      auto [dend, dec] = std::to_chars(deadline, deadline + sizeof deadline, ctx.deadline_ms);
      (void)dec;
      field("X-Edge-Deadline",
            std::string_view(deadline, static_cast<std::size_t>(dend - deadline)));
    }
    char length[24];
    auto [end, lec] = std::to_chars(length, length + sizeof length, payload.size());
    (void)lec;
    field("Content-Length", std::string_view(length, static_cast<std::size_t>(end - length)));
    wire += "\r\n";
    wire += payload;

    // One write + read on `c`; the parser is fresh per exchange.
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    auto exchange = [&](connection& c) {
      parser.emplace();
      parser->body_limit(64 * 1024 * 1024);
      return c.run(opts.request_timeout, [&](auto handler) {
        std::visit(
            [&](auto& s) {
              if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>) {
                asio::async_write(s, asio::buffer(wire),
                                  [&s, &c, &parser, h = std::move(handler)](beast::error_code e,
                                                                            std::size_t) mutable {
                                    if (e) return h(e);
                                    bhttp::async_read(s, c.buffer, *parser,
                                                      [h = std::move(h)](beast::error_code e2,
                                                                         std::size_t) { h(e2); });
                                  });
              }
            },
            c.stream);
      });
    };

    auto conn = take_idle();
    bool pooled = conn != nullptr;
    if (pooled) {
      reused.fetch_add(1, std::memory_order_relaxed);
    } else {
      auto fresh = connect();
      if (!fresh) return fresh.error();
      conn = std::move(*fresh);
    }
    auto ec = exchange(*conn);
    if (ec) {
      // The peer is gone or restarted: its other idle connections are as dead as this one.
      flush_idle();
      if (pooled && ec != beast::error::timeout) {
        // A pooled connection the peer closed while idle: once more on a fresh connection, not
        // counted as a retry (as HTTP clients do for stale keep-alive connections).
        auto fresh = connect();
        if (!fresh) return fresh.error();
        conn = std::move(*fresh);
        ec = exchange(*conn);
      }
      if (ec) return transport_error(ec, std::string(op) + " to " + target.url());
    }

    auto res = parser->release();
    if (res.keep_alive()) give_back(std::move(conn));
    unsigned status = res.result_int();
    if (status != 200) return parse_error_body(status, res.body());
    return std::move(res.body());
  }
};
client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
client::~client() = default;

const endpoint& client::target() const { return impl_->target; }

client_stats client::stats() const {
  return {impl_->opened.load(), impl_->reused.load(), impl_->attempts.load(),
          impl_->retries.load()};
}

call_result<std::string> table_api::call_text(std::string_view op, const json::object& body,
                                              const call_context& ctx) {
  auto r = call(op, body, ctx);
  if (!r) return r.error();
  return json::serialize(*r);
}

call_result<json::object> client::call(std::string_view op, const json::object& body,
                                       const call_context& ctx) {
  auto text = call_text(op, body, ctx);
  if (!text) return text.error();
  boost::system::error_code jec;
  // One arena for the whole response (a Scan page is hundreds of small values); it is
  // reference-counted, so whatever the caller keeps keeps it alive.
  auto v = json::parse(*text, jec,
                       json::make_shared_resource<json::monotonic_resource>(text->size() * 2 + 512),
                       response_parse_options());
  if (jec || !v.is_object()) {
    return api_error{"SerializationException", "response is not a JSON object", 200};
  }
  return std::move(v.as_object());
}

call_result<std::string> client::call_text(std::string_view op, const json::object& body,
                                           const call_context& ctx) {
  auto& d = *impl_;
  if (d.config_error) return api_error{"InvalidEndpoint", d.config_error->message, 0};
  auto started = std::chrono::steady_clock::now();
  std::string payload = json::serialize(body);
  call_result<std::string> out = api_error{};
  int spent = 0;  // quota tokens this call has used
  for (int n = 1;; ++n) {
    d.attempts.fetch_add(1, std::memory_order_relaxed);
    out = d.attempt(op, payload, ctx);
    if (out) {
      d.m.attempts_ok.inc();
      // Standard mode: a success refunds what its retries spent, or 1 token if none.
      int refund = spent > 0 ? spent : 1;
      int cur = d.quota.load();
      while (!d.quota.compare_exchange_weak(cur, std::min(d.opts.retry_quota, cur + refund))) {
      }
      break;
    }
    d.m.attempts_failed.inc();
    if (n >= d.opts.max_attempts || !is_retryable(out.error())) break;
    if (ctx.deadline_ms > 0 &&
        std::chrono::duration_cast<std::chrono::milliseconds>(d.opts.clock().time_since_epoch())
                .count() > ctx.deadline_ms) {
      break;  // the caller no longer wants it (it may be applied elsewhere by now)
    }
    int cost = out.error().type == "RequestTimeout" ? 10 : 5;
    if (d.quota.fetch_sub(cost) < cost) {
      d.quota.fetch_add(cost);  // quota exhausted: give up now, as the SDKs do
      break;
    }
    spent += cost;
    auto ceiling = std::min<double>(
        static_cast<double>(d.opts.backoff_cap.count()),
        static_cast<double>(d.opts.backoff_base.count()) * static_cast<double>(1 << (n - 1)));
    auto delay = std::chrono::milliseconds(static_cast<long>(d.opts.random() * ceiling));
    spdlog::debug("ddbclient: {} attempt {} failed ({}: {}), retrying in {} ms", op, n,
                  out.error().type, out.error().message, delay.count());
    d.retries.fetch_add(1, std::memory_order_relaxed);
    d.m.retries.inc();
    d.opts.sleep(delay);
  }
  d.m.latency.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return out;
}

}  // namespace mysfits::ddbclient
