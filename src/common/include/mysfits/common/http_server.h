// A small HTTP/1.1 server (Boost.Beast) that the table engine, the app services and the edge's
// control API share: keep-alive, bounded headers and bodies, deadlines on every read and write,
// and a graceful stop that finishes in-flight requests (STYLE.md §6.8).
// The handler is either a plain function from request to response, which runs on one of the
// server's threads and may block (e.g. on RocksDB), or an asynchronous handler that is given a
// `responder` and answers later, from any thread (e.g. once a group commit made a write durable).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "mysfits/common/result.h"

namespace mysfits::http {

namespace bhttp = boost::beast::http;
using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

struct server_options {
  // IPv4 or IPv6 address to listen on. Default: 127.0.0.1. Fixed at start.
  std::string address = "127.0.0.1";
  // TCP port; 0 picks a free one (read it back with server::port()). Default: 0.
  std::uint16_t port = 0;
  // Threads that accept connections and run the handler. Default: 2.
  std::size_t threads = 2;
  // Largest request body in bytes; larger ones get 413 before the body is read. Default: 16 MiB.
  std::uint64_t body_limit = 16 * 1024 * 1024;
  // Largest request header block in bytes; larger ones get 431. Default: 16 KiB.
  std::uint32_t header_limit = 16 * 1024;
  // How long a connection may sit idle, or take to send its request headers. Default: 60 s.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // How long a client may take to send a body, or to read a response. Default: 30 s.
  std::chrono::milliseconds io_timeout{std::chrono::seconds(30)};
  // How long stop() waits for in-flight requests before closing everything. Default: 10 s.
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(10)};
  // Value of the Server response header; empty sends none. Default: empty.
  std::string server_name;
};

// The answer to a request the server could not hand to the handler (malformed, too large,
// too slow): a protocol gives it its own error shape. The default is a JSON {"message": …}.
using error_responder = std::function<response(unsigned status, std::string_view message)>;
using handler = std::function<response(request& req)>;

// The answer to one request, given later and from any thread. Copies share that one answer: the
// first call sends it (written by the connection's own thread), later calls are ignored. If
// every copy is destroyed unanswered, the client gets a 500 from the error responder, so a lost
// responder never hangs a connection. Once the server has stopped, an answer goes nowhere.
// While a request waits for its answer its connection reads no further request (HTTP/1.1 answers
// in order), and stop() waits for it (up to drain_timeout) like for any in-flight request.
class responder {
 public:
  void operator()(response res) const;

  struct state;  // private to the server, which makes responders
  explicit responder(std::shared_ptr<state> s) : state_(std::move(s)) {}

 private:
  std::shared_ptr<state> state_;
};

// A handler that answers through `respond`, now or later. `req` stays valid until it answered.
// An exception it throws becomes a 500 (unless it answered already).
using async_handler = std::function<void(request& req, responder respond)>;

class server {
 public:
  server(server_options options, handler h, error_responder on_error = {});
  server(server_options options, async_handler h, error_responder on_error = {});
  ~server();  // stops if still running
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts serving. Fails if the address cannot be bound.
  [[nodiscard]] result<void> start();
  // The bound port (after start()).
  std::uint16_t port() const;
  // Stops accepting, lets in-flight requests finish (up to drain_timeout), closes idle
  // keep-alive connections and joins the threads. Idempotent.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A JSON error body {"message": "..."} with the given status.
response json_error(unsigned status, std::string_view message, unsigned version = 11);

// Blocks the calling thread until SIGINT or SIGTERM arrives.
void wait_for_termination_signal();

}  // namespace mysfits::http
