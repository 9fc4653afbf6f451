// HTTP server implementation: one coroutine per connection on its own strand.
#include "mysfits/common/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace mysfits::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

response json_error(unsigned status, std::string_view message, unsigned version) {
  response res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = boost::json::serialize(boost::json::object{{"message", message}});
  res.prepare_payload();
  return res;
}

struct session_state {
  asio::strand<asio::io_context::executor_type> strand;
  beast::tcp_stream stream;
  bool busy = false;  // a request is being handled; touched only on the strand
  // Read deadline. tcp_stream's own expiry closes the socket, which would leave no way to
  // answer 408, so reads use this timer, which only cancels the pending read.
  asio::steady_timer read_deadline;
  bool read_timed_out = false;
  // Bumped on every arm and cancel: a deadline whose handler was already queued when it was
  // re-armed or cancelled sees a newer generation and leaves the next read alone.
  std::uint64_t deadline_generation = 0;
  explicit session_state(asio::io_context& io)
      : strand(asio::make_strand(io)), stream(strand), read_deadline(strand) {}

  static void arm_read_deadline(const std::shared_ptr<session_state>& st,
                                std::chrono::milliseconds d) {
    st->read_timed_out = false;
    st->stream.expires_never();
    st->read_deadline.expires_after(d);
    std::uint64_t generation = ++st->deadline_generation;
    st->read_deadline.async_wait([st, generation](const beast::error_code& ec) {
      if (ec || generation != st->deadline_generation) return;  // re-armed or cancelled
      st->read_timed_out = true;
      beast::error_code ignored;
      st->stream.socket().cancel(ignored);
    });
  }
};

struct server::impl {
  server_options opts;
  handler handle;
  error_responder on_error;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  bool stopped = false;

  std::mutex mu;
  std::condition_variable cv;
  std::list<std::shared_ptr<session_state>> sessions;

  impl(server_options o, handler h, error_responder e)
      : opts(std::move(o)), handle(std::move(h)), on_error(std::move(e)) {
    if (!on_error) on_error = [](unsigned s, std::string_view m) { return json_error(s, m); };
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto st = std::make_shared<session_state>(io);
      auto [ec] =
          co_await acceptor.async_accept(st->stream.socket(), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping) co_return;
        spdlog::warn("http: accept failed: {}", ec.message());
        // Out of descriptors or similar: back off briefly instead of spinning.
        asio::steady_timer t(io, std::chrono::milliseconds(50));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      beast::error_code ignored;
      st->stream.socket().set_option(tcp::no_delay(true), ignored);  // best effort
      std::list<std::shared_ptr<session_state>>::iterator it;
      {
        std::lock_guard lock(mu);
        it = sessions.insert(sessions.end(), st);
      }
      asio::co_spawn(st->strand, run_session(st),
                     // `this` outlives every session: pending ones die with io in ~impl.
                     [this, it](std::exception_ptr e) {
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           spdlog::error("http: session ended with exception: {}", ex.what());
                         }
                       }
                       std::lock_guard lock(mu);
                       sessions.erase(it);
                       cv.notify_all();
                     });
    }
  }

  asio::awaitable<void> write(session_state& st, response res) {
    st.stream.expires_after(opts.io_timeout);
    auto [ec, n] = co_await bhttp::async_write(st.stream, res, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec) throw beast::system_error(ec);
  }

  asio::awaitable<void> run_session(std::shared_ptr<session_state> st) {
    beast::flat_buffer buffer;
    for (;;) {
      if (stopping) break;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(opts.header_limit);
      parser.body_limit(opts.body_limit);
      session_state::arm_read_deadline(st, opts.idle_timeout);
      auto [ec, n] = co_await bhttp::async_read_header(st->stream, buffer, parser,
                                                       asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (!ec && !parser.is_done()) {
        // Headers are in; the body gets its own deadline. Expect: 100-continue clients wait.
        if (parser.get()[bhttp::field::expect] == "100-continue") {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
          st->stream.expires_after(opts.io_timeout);
          auto [wec, wn] =
              co_await bhttp::async_write(st->stream, cont, asio::as_tuple(asio::use_awaitable));
          (void)wn;
          if (wec) break;
        }
        session_state::arm_read_deadline(st, opts.io_timeout);
        auto [bec, bn] = co_await bhttp::async_read(st->stream, buffer, parser,
                                                    asio::as_tuple(asio::use_awaitable));
        (void)bn;
        ec = bec;
      }
      st->read_deadline.cancel();
      ++st->deadline_generation;
      if (ec == asio::error::operation_aborted && st->read_timed_out) ec = beast::error::timeout;
      if (ec) {
        if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
            ec == asio::error::connection_reset || ec == asio::error::eof) {
          break;
        }
        unsigned status = 400;
        std::string message = "malformed HTTP request: " + ec.message();
        if (ec == bhttp::error::body_limit) {
          status = 413;
          message = "request body exceeds " + std::to_string(opts.body_limit) + " bytes";
        } else if (ec == bhttp::error::header_limit) {
          status = 431;
          message = "request headers exceed " + std::to_string(opts.header_limit) + " bytes";
        } else if (ec == beast::error::timeout) {
          // Say so only to a client that started a request; an idle one is just closed.
          if (buffer.size() == 0 && !parser.got_some()) break;
          status = 408;
          message = "request not received in time";
        }
        auto res = on_error(status, message);
        res.keep_alive(false);
        res.prepare_payload();
        beast::error_code ignored;
        st->stream.socket().shutdown(tcp::socket::shutdown_receive, ignored);
        try {
          co_await write(*st, std::move(res));
        } catch (const std::exception&) {
          // the client is gone; nothing more to tell it
        }
        break;
      }

      st->busy = true;
      request req = parser.release();
      bool keep_alive = req.keep_alive();
      response res;
      try {
        res = handle(req);
      } catch (const std::exception& ex) {
        spdlog::error("http: handler threw: {}", ex.what());
        res = on_error(500, "internal error");
      }
      if (stopping) keep_alive = false;
      res.version(req.version());
      res.keep_alive(keep_alive && res.keep_alive());
      if (!opts.server_name.empty()) res.set(bhttp::field::server, opts.server_name);
      res.prepare_payload();
      bool close = !res.keep_alive();
      try {
        co_await write(*st, std::move(res));
      } catch (const std::exception&) {
        break;
      }
      st->busy = false;
      if (close) break;
    }
    beast::error_code ignored;
    st->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    st->stream.socket().close(ignored);
  }
};

server::server(server_options options, handler h, error_responder on_error)
    : impl_(std::make_unique<impl>(std::move(options), std::move(h), std::move(on_error))) {}

server::~server() { stop(); }

result<void> server::start() {
  auto& s = *impl_;
  beast::error_code ec;
  auto addr = asio::ip::make_address(s.opts.address, ec);
  if (ec) return error::invalid_argument("bad listen address '" + s.opts.address + "'");
  tcp::endpoint ep{addr, s.opts.port};
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return error::io("cannot listen on " + s.opts.address + ":" + std::to_string(s.opts.port) +
                     ": " + ec.message());
  }
  asio::co_spawn(s.io, s.accept_loop(), asio::detached);
  std::size_t n = s.opts.threads ? s.opts.threads : 1;
  for (std::size_t i = 0; i < n; ++i) s.threads.emplace_back([&s] { s.io.run(); });
  return ok();
}

std::uint16_t server::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void server::stop() {
  auto& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  if (s.threads.empty()) return;
  s.stopping = true;
  asio::post(s.io, [&s] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
  });
  {
    std::unique_lock lock(s.mu);
    // Idle connections are closed now; busy ones close after their response.
    for (auto& st : s.sessions) {
      asio::post(st->strand, [st] {
        if (!st->busy) st->stream.cancel();
      });
    }
    s.cv.wait_for(lock, s.opts.drain_timeout, [&s] { return s.sessions.empty(); });
  }
  s.io.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

void wait_for_termination_signal() {
  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([](const beast::error_code&, int) {});
  io.run();
}

}  // namespace mysfits::http
