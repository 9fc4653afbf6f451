// HTTP-aware sessions: one coroutine per client connection reads requests (Beast, bounded
// headers and bodies, deadlines), forwards each over a pooled keep-alive upstream connection,
// retries safe failures on another target, and answers 400/408/413/431/502/503/504 itself.
// TCP pass-through sessions splice bytes both ways to one chosen endpoint.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

#include "proxy/context.h"

namespace mysfits::edge {

// Serves one client connection in HTTP mode until it closes, errs, idles out or the proxy
// stops. Never throws.
boost::asio::awaitable<void> run_http_session(worker_context& w, listener_stats& stats,
                                              boost::asio::ip::tcp::socket client);

// Serves one client connection in TCP pass-through mode. Never throws.
boost::asio::awaitable<void> run_tcp_session(worker_context& w, listener_stats& stats,
                                             boost::asio::ip::tcp::socket client);

// Rewrites a client's request for the upstream: HTTP/1.1 keep-alive, X-Forwarded-For /
// -Proto / -Port, hop-by-hop headers and Expect removed, payload headers recomputed.
void prepare_upstream_request(boost::beast::http::request<boost::beast::http::string_body>& req,
                              const std::string& client_ip, std::uint16_t listener_port);

// Whether a failed request may be sent again to another target: idempotent methods always,
// others only with an Idempotency-Key header.
bool is_retryable_request(boost::beast::http::verb method, bool has_idempotency_key);

}  // namespace mysfits::edge
