// HTTP-aware sessions: one coroutine per client connection reads requests (Beast's parser,
// bounded headers and bodies, deadlines), forwards each over a pooled keep-alive upstream
// connection, retries safe failures on another target, and answers 400/408/413/431/502/503/504
// itself. TCP pass-through sessions splice bytes both ways to one chosen endpoint.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "proxy/context.h"
#include "proxy/http_codec.h"

namespace mysfits::edge {

// Serves one client connection in HTTP mode until it closes, errs, idles out or the proxy
// stops. Never throws.
boost::asio::awaitable<void> run_http_session(worker_context& w, listener_stats& stats,
                                              boost::asio::ip::tcp::socket client);

// Serves one client connection in TCP pass-through mode. Never throws.
boost::asio::awaitable<void> run_tcp_session(worker_context& w, listener_stats& stats,
                                             boost::asio::ip::tcp::socket client);

}  // namespace mysfits::edge
