// HTTP server implementation: one coroutine per connection, on the io_context of one thread.
#include "mysfits/common/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "mysfits/common/http_token.h"
#include "mysfits/common/log.h"

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

// The common request read without Beast's parser: Beast's header parser goes a byte at a time
// through each field (~600 instructions per field, ~3,500 of a 6-field request, a tenth of a
// table GetItem). `parse_plain_request` takes only a request Beast would take the same way —
// GET or POST, HTTP/1.0 or 1.1, a target of visible ASCII, fields whose names are tokens and
// whose values are visible ASCII with inner spaces, at most one Content-Length of plain digits —
// and builds the message Beast's parser would (same method, target, version, fields in order,
// body). Anything else (obs-fold, tabs, obs-text, empty or space-padded values,
// Transfer-Encoding, Expect, Upgrade, Proxy-Connection, a Connection other than keep-alive or
// close, a body over the limit, a header near its limit) is left to Beast, with every byte, so its
// answers and errors stay what they were.
enum class plain_parse { done, need_more, not_plain };

struct plain_head {
  std::size_t head_size = 0;       // bytes of the request line and fields, with the blank line
  std::size_t content_length = 0;  // body bytes that follow
};

// Whether every byte of [p, p + n) is visible ASCII or a space (0x20-0x7e), eight at a time:
// a byte below 0x20 borrows into its top bit when 0x20 is subtracted (and had it clear), one above
// 0x7e carries into it when 1 is added (or had it set).
inline bool all_visible_or_space(const char* p, std::size_t n) {
  constexpr std::uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if ((((w - ones * 0x20) & ~w) | (w + ones) | w) & tops) return false;
  }
  for (; n > 0; ++p, --n)
    if (static_cast<unsigned char>(*p) < 0x20 || static_cast<unsigned char>(*p) > 0x7e)
      return false;
  return true;
}

// Whether `in`, an unfinished head, can still become a plain one: it starts as "GET " or "POST "
// does, and holds only visible ASCII, spaces and CRLF line ends. Anything else goes to Beast at
// once, which refuses what is malformed (a TLS handshake, bare LF line ends, control bytes)
// straight away instead of waiting for a blank line that may never come.
bool may_become_plain(std::string_view in) {
  const std::string_view get = "GET ", post = "POST ";
  const std::size_t n = std::min(in.size(), post.size());
  if (in.substr(0, std::min(n, get.size())) != get.substr(0, std::min(n, get.size())) &&
      in.substr(0, n) != post.substr(0, n))
    return false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c >= 0x20 && c <= 0x7e) continue;
    if (c == '\r' && (i + 1 == in.size() || in[i + 1] == '\n')) continue;
    if (c == '\n' && i > 0 && in[i - 1] == '\r') continue;
    return false;
  }
  return true;
}

// Reads the request head at the start of `in` into `req` (fields appended); `head` tells its size
// and the body's. need_more: the head is not all there yet (and not near the limit), and what
// there is of it may still be plain.
plain_parse parse_plain_head(std::string_view in, std::uint32_t header_limit,
                             std::uint64_t body_limit, request& req, plain_head& head) {
  std::size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos)
    return in.size() < header_limit / 2 && may_become_plain(in) ? plain_parse::need_more
                                                                : plain_parse::not_plain;
  head.head_size = end + 4;
  if (head.head_size > header_limit / 2) return plain_parse::not_plain;
  std::string_view text = in.substr(0, end + 2);  // every line with its CRLF
  // Request line.
  bhttp::verb method;
  std::size_t pos;
  if (text.starts_with("POST ")) {
    method = bhttp::verb::post;
    pos = 5;
  } else if (text.starts_with("GET ")) {
    method = bhttp::verb::get;
    pos = 4;
  } else {
    return plain_parse::not_plain;
  }
  std::size_t target_begin = pos;
  while (pos < text.size() && text[pos] > 0x20 && text[pos] < 0x7f) ++pos;
  if (pos == target_begin || pos >= text.size() || text[pos] != ' ') return plain_parse::not_plain;
  std::string_view target = text.substr(target_begin, pos - target_begin);
  ++pos;
  unsigned version;
  if (text.substr(pos, 10) == "HTTP/1.1\r\n")
    version = 11;
  else if (text.substr(pos, 10) == "HTTP/1.0\r\n")
    version = 10;
  else
    return plain_parse::not_plain;
  pos += 10;
  req.method(method);
  req.target(target);
  req.version(version);
  // Fields.
  bool have_length = false;
  while (pos < text.size()) {
    std::size_t name_begin = pos;
    while (pos < text.size() && is_tchar(text[pos])) ++pos;
    if (pos == name_begin || pos >= text.size() || text[pos] != ':') return plain_parse::not_plain;
    std::string_view name = text.substr(name_begin, pos - name_begin);
    ++pos;
    while (pos < text.size() && text[pos] == ' ') ++pos;
    std::size_t value_begin = pos;
    pos = text.find('\r', pos);
    // The line must end at the first CR (CRLF, no obs-fold: the next line starts a name, checked
    // above), and the value be non-empty, with no space at its end, of visible ASCII and spaces.
    if (pos == std::string_view::npos || pos + 1 >= text.size() || text[pos + 1] != '\n' ||
        pos == value_begin || text[pos - 1] == ' ' ||
        !all_visible_or_space(text.data() + value_begin, pos - value_begin))
      return plain_parse::not_plain;
    std::string_view value = text.substr(value_begin, pos - value_begin);
    pos += 2;
    bhttp::field f = bhttp::string_to_field(name);
    switch (f) {
      case bhttp::field::content_length: {
        if (have_length || value.size() > 15 || (value.size() > 1 && value[0] == '0'))
          return plain_parse::not_plain;
        std::uint64_t n = 0;
        for (char c : value) {
          if (c < '0' || c > '9') return plain_parse::not_plain;
          n = n * 10 + static_cast<unsigned>(c - '0');
        }
        if (n > body_limit) return plain_parse::not_plain;
        have_length = true;
        head.content_length = n;
        break;
      }
      case bhttp::field::connection:
        if (!beast::iequals(value, "keep-alive") && !beast::iequals(value, "close"))
          return plain_parse::not_plain;
        break;
      case bhttp::field::transfer_encoding:
      case bhttp::field::expect:
      case bhttp::field::upgrade:
      case bhttp::field::proxy_connection:
        return plain_parse::not_plain;
      default:
        break;
    }
    req.insert(f, name, value);
  }
  return plain_parse::done;
}

// Deadlines are kept as times the session's watchdog compares with the clock every tick,
// instead of a timer armed and cancelled around every read and write: on a keep-alive
// connection that was four timer operations (each taking the reactor's timer lock, often a
// timerfd_settime syscall) and two extra completions per request.
struct session_state {
  using clock = std::chrono::steady_clock;
  tcp::socket socket;  // on its thread's io_context, which runs the session and its watchdog
  bool busy = false;   // a request is being handled; touched only on the strand
  // The read or write in progress must finish by `deadline` (time_point::max(): none is
  // pending). When it passes, the watchdog cancels the socket's operations; `timed_out` tells
  // the session why they ended (a read then answers 408, as before).
  clock::time_point deadline = clock::time_point::max();
  bool timed_out = false;
  bool closed = false;  // the session ended; the watchdog stops
  asio::steady_timer watchdog_timer;
  // An asynchronous handler's answer: set on this session's thread (directly while the handler
  // runs here, else by a posted function that also cancels `wake`, which the session awaits).
  std::thread::id thread;  // the one thread running this session's io_context
  bool in_handler = false;
  std::optional<response> deferred;
  asio::steady_timer wake;
  explicit session_state(tcp::socket s)
      : socket(std::move(s)), watchdog_timer(socket.get_executor()), wake(socket.get_executor()) {}

  void expect_within(std::chrono::milliseconds d) {
    timed_out = false;
    deadline = clock::now() + d;
  }
  void no_deadline() { deadline = clock::time_point::max(); }

  // Runs on the strand beside the session until it closes; checks the deadline every `tick`.
  static asio::awaitable<void> watchdog(std::shared_ptr<session_state> st,
                                        std::chrono::milliseconds tick) {
    while (!st->closed) {
      st->watchdog_timer.expires_after(tick);
      auto [ec] = co_await st->watchdog_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;  // cancelled only when the session closes, which `closed` says
      if (st->closed) break;
      if (clock::now() >= st->deadline) {
        st->timed_out = true;
        st->no_deadline();
        beast::error_code ignored;
        st->socket.cancel(ignored);
      }
    }
  }
};

// Whether the server's io_contexts still exist: a responder may be called (or dropped) on another
// thread after the server stopped, and must then neither post to nor touch a session.
struct server_life {
  std::mutex mu;
  bool alive = true;
};

struct responder::state {
  // Weak: a session must never outlive its io_context, and a responder may (held by another
  // thread after stop). The session awaits the answer, so it is alive while one is wanted.
  std::weak_ptr<session_state> session;
  std::shared_ptr<server_life> life;
  const error_responder* on_error;  // the server's; used only while life->alive
  std::atomic<bool> answered{false};

  state(const std::shared_ptr<session_state>& s, std::shared_ptr<server_life> l,
        const error_responder* e)
      : session(s), life(std::move(l)), on_error(e) {}
  state(const state&) = delete;
  state& operator=(const state&) = delete;

  ~state() {
    if (answered.exchange(true)) return;
    std::lock_guard lock(life->mu);
    if (!life->alive) return;
    spdlog::error("http: a request's responder was dropped unanswered");
    deliver_locked((*on_error)(500, "internal error"));
  }

  void deliver(response res) {
    std::lock_guard lock(life->mu);
    if (!life->alive) return;
    deliver_locked(std::move(res));
  }

  void deliver_locked(response res) {
    auto st = session.lock();
    if (!st) return;
    auto ex = st->socket.get_executor();
    // `thread` is set before any responder exists; `in_handler` is read only on that thread.
    if (st->thread == std::this_thread::get_id() && st->in_handler) {
      st->deferred = std::move(res);  // answered inline: the session finds it when it returns
      return;
    }
    asio::post(ex, [st, r = std::move(res)]() mutable {
      st->deferred = std::move(r);
      st->wake.cancel();
    });
  }
};

void responder::operator()(response res) const {
  if (!state_ || state_->answered.exchange(true)) return;
  state_->deliver(std::move(res));
}

// Threads: one accepts connections (so a handler that blocks never delays an accept), and each
// of opts.threads runs its own io_context with the sessions handed to it round-robin. A session
// lives on one thread from accept to close: its reads, handler and writes never hop threads and
// need no strand (with one shared io_context, every completion could wake another thread).
struct server::impl {
  server_options opts;
  handler handle;              // one of these two is set
  async_handler handle_async;  //
  error_responder on_error;
  std::shared_ptr<server_life> life = std::make_shared<server_life>();
  // Declared before the acceptor's io_context, so destroyed after it: a pending accept names
  // the worker its socket is for.
  std::vector<std::unique_ptr<asio::io_context>> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> worker_guards;
  asio::io_context io{1};  // the acceptor's
  tcp::acceptor acceptor{io};
  std::size_t next_worker = 0;  // touched only by the accept loop
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  bool stopped = false;

  std::mutex mu;
  std::condition_variable cv;
  std::list<std::shared_ptr<session_state>> sessions;

  impl(server_options o, handler h, async_handler ah, error_responder e)
      : opts(std::move(o)),
        handle(std::move(h)),
        handle_async(std::move(ah)),
        on_error(std::move(e)) {
    if (!on_error) on_error = [](unsigned s, std::string_view m) { return json_error(s, m); };
  }

  // Runs the asynchronous handler and waits (without holding the thread) for its answer.
  asio::awaitable<response> answer_async(std::shared_ptr<session_state> st, request& req) {
    st->deferred.reset();
    {
      responder respond(std::make_shared<responder::state>(st, life, &on_error));
      st->in_handler = true;
      try {
        handle_async(req, respond);
      } catch (const std::exception& ex) {
        spdlog::error("http: handler threw: {}", ex.what());
        respond(on_error(500, "internal error"));
      }
      st->in_handler = false;
    }  // our copy goes: if the handler kept none and did not answer, that answers 500
    while (!st->deferred) {
      st->wake.expires_at(asio::steady_timer::time_point::max());
      auto [ec] = co_await st->wake.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;  // cancelled by the answer's arrival
    }
    response res = std::move(*st->deferred);
    st->deferred.reset();
    co_return res;
  }

  asio::awaitable<void> accept_loop() {
    log::every warn_every(std::chrono::seconds(1));
    for (;;) {
      auto& worker = *workers[next_worker++ % workers.size()];
      auto [ec, socket] =
          co_await acceptor.async_accept(worker, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping) co_return;
        if (auto n = warn_every.occurred(std::chrono::steady_clock::now()))
          spdlog::warn("http: accept failed: {}{}", ec.message(), log::every::passed_over(n));
        // Out of descriptors or similar: back off briefly instead of spinning.
        asio::steady_timer t(io, std::chrono::milliseconds(50));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      auto st = std::make_shared<session_state>(std::move(socket));
      beast::error_code ignored;
      st->socket.set_option(tcp::no_delay(true), ignored);  // best effort
      std::list<std::shared_ptr<session_state>>::iterator it;
      {
        std::lock_guard lock(mu);
        it = sessions.insert(sessions.end(), st);
      }
      auto ex = st->socket.get_executor();
      asio::co_spawn(ex, session_state::watchdog(st, watchdog_tick()), asio::detached);
      asio::co_spawn(ex, run_session(st),
                     // `this` outlives every session: pending ones die with their io_context.
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

  // How often a session's watchdog looks at its deadline: an eighth of the shorter timeout (so a
  // timeout fires at most 12.5 % late), between 5 ms and 1 s.
  std::chrono::milliseconds watchdog_tick() const {
    auto shortest = std::min(opts.idle_timeout, opts.io_timeout);
    return std::clamp(shortest / 8, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
  }

  template <class Message>
  asio::awaitable<beast::error_code> write(session_state& st, Message& msg) {
    st.expect_within(opts.io_timeout);
    auto [ec, n] = co_await bhttp::async_write(st.socket, msg, asio::as_tuple(asio::use_awaitable));
    (void)n;
    st.no_deadline();
    if (ec == asio::error::operation_aborted && st.timed_out) ec = beast::error::timeout;
    co_return ec;
  }

  // Writes a response as one gather write of [status line and header fields, body]. Beast's
  // serializer walks nested buffer views to do the same, which was ~15 % of a GetItem's
  // instructions; a chunked response (none of ours) still goes through it.
  asio::awaitable<beast::error_code> write_response(session_state& st, response& res) {
    if (res.chunked()) co_return co_await write(st, res);
    std::string head;
    head.reserve(256);
    unsigned v = res.version();
    head += "HTTP/";
    head += static_cast<char>('0' + v / 10 % 10);
    head += '.';
    head += static_cast<char>('0' + v % 10);
    head += ' ';
    head += std::to_string(res.result_int());
    head += ' ';
    head += res.reason();
    head += "\r\n";
    for (const auto& f : res) {
      head += f.name_string();
      head += ": ";
      head += f.value();
      head += "\r\n";
    }
    head += "\r\n";
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(res.body())};
    st.expect_within(opts.io_timeout);
    auto [ec, n] = co_await asio::async_write(st.socket, bufs, asio::as_tuple(asio::use_awaitable));
    (void)n;
    st.no_deadline();
    if (ec == asio::error::operation_aborted && st.timed_out) ec = beast::error::timeout;
    co_return ec;
  }

  // Reads one request into `plain` (parse_plain_head's fast path, `fast` set) or `parser`
  // (Beast's): bytes already buffered are parsed first, then the socket is read into `buffer`
  // (one read_some per wait) until the request is complete. The header is read within the idle
  // timeout the caller set, the body within io_timeout; a client that sent "Expect:
  // 100-continue" and waits gets "100 Continue" once the header is in. Errors are Beast's
  // (end_of_stream: closed before a request began; partial_message; header_limit; body_limit,
  // found from Content-Length before the body is read) or the socket's. This is what
  // bhttp::async_read_header + async_read did, without their composed operations: they were
  // ~10 % of a small request's instructions.
  asio::awaitable<beast::error_code> read_request(session_state& st, beast::flat_buffer& buffer,
                                                  bhttp::request_parser<bhttp::string_body>& parser,
                                                  request& plain, bool& fast) {
    parser.eager(true);
    fast = false;
    bool header_seen = false;
    bool beast_started = false;  // bytes went to Beast's parser: it reads the rest
    bool plain_header = false;   // the fast path has the head; waiting for the body
    plain_head head;
    auto as_text = [&buffer] {
      auto d = buffer.data();
      return std::string_view(static_cast<const char*>(d.data()), d.size());
    };
    for (;;) {
      if (buffer.size() > 0 && !beast_started) {
        if (!plain_header) {
          switch (parse_plain_head(as_text(), opts.header_limit, opts.body_limit, plain, head)) {
            case plain_parse::done:
              plain_header = true;
              st.expect_within(opts.io_timeout);
              break;
            case plain_parse::need_more:
              break;
            case plain_parse::not_plain:
              plain = request{};
              beast_started = true;
              break;
          }
        }
        if (plain_header && buffer.size() >= head.head_size + head.content_length) {
          if (head.content_length > 0)
            plain.body().assign(as_text().substr(head.head_size, head.content_length));
          buffer.consume(head.head_size + head.content_length);
          fast = true;
          co_return beast::error_code{};
        }
      }
      if (buffer.size() > 0 && beast_started) {
        beast::error_code ec;
        buffer.consume(parser.put(buffer.data(), ec));
        if (!ec && parser.is_done()) co_return ec;
        if (ec && ec != bhttp::error::need_more) co_return ec;
      }
      if (beast_started && !header_seen && parser.is_header_done()) {
        header_seen = true;
        if (parser.get()[bhttp::field::expect] == "100-continue") {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
          // A client that cannot take it is gone: the session ends without an answer.
          if (co_await write(st, cont)) co_return asio::error::connection_reset;
        }
        st.expect_within(opts.io_timeout);
      }
      auto [ec, n] = co_await st.socket.async_read_some(
          buffer.prepare(beast::read_size(buffer, 65536)), asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::eof) {
        if (!beast_started && buffer.size() > 0) {
          // An unfinished request: Beast says what is wrong with it, as it did before.
          plain = request{};
          beast::error_code pec;
          buffer.consume(parser.put(buffer.data(), pec));
          if (pec && pec != bhttp::error::need_more) co_return pec;
          beast_started = true;
        }
        if (!parser.got_some()) co_return bhttp::error::end_of_stream;
        beast::error_code pec;
        parser.put_eof(pec);
        if (!pec && parser.is_done()) co_return pec;
        co_return pec ? pec : beast::error_code(bhttp::error::partial_message);
      }
      if (ec) co_return ec;
      buffer.commit(n);
    }
  }

  asio::awaitable<void> run_session(std::shared_ptr<session_state> st) {
    st->thread = std::this_thread::get_id();
    beast::flat_buffer buffer;
    for (;;) {
      if (stopping) break;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(opts.header_limit);
      parser.body_limit(opts.body_limit);
      st->expect_within(opts.idle_timeout);
      request plain;
      bool fast = false;
      beast::error_code ec = co_await read_request(*st, buffer, parser, plain, fast);
      st->no_deadline();
      if (ec == asio::error::operation_aborted && st->timed_out) ec = beast::error::timeout;
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
        st->socket.shutdown(tcp::socket::shutdown_receive, ignored);
        (void)co_await write(*st, res);  // the client may be gone; nothing more to tell it
        break;
      }

      st->busy = true;
      request req = fast ? std::move(plain) : parser.release();
      bool keep_alive = req.keep_alive();
      response res;
      if (handle_async) {
        res = co_await answer_async(st, req);
      } else {
        try {
          res = handle(req);
        } catch (const std::exception& ex) {
          spdlog::error("http: handler threw: {}", ex.what());
          res = on_error(500, "internal error");
        }
      }
      if (stopping) keep_alive = false;
      res.version(req.version());
      res.keep_alive(keep_alive && res.keep_alive());
      if (!opts.server_name.empty()) res.set(bhttp::field::server, opts.server_name);
      res.prepare_payload();
      bool close = !res.keep_alive();
      if (co_await write_response(*st, res)) break;
      st->busy = false;
      if (close) break;
    }
    st->closed = true;
    st->watchdog_timer.cancel();
    beast::error_code ignored;
    st->socket.shutdown(tcp::socket::shutdown_both, ignored);
    st->socket.close(ignored);
  }
};

server::server(server_options options, handler h, error_responder on_error)
    : impl_(std::make_unique<impl>(std::move(options), std::move(h), async_handler{},
                                   std::move(on_error))) {}

server::server(server_options options, async_handler h, error_responder on_error)
    : impl_(std::make_unique<impl>(std::move(options), handler{}, std::move(h),
                                   std::move(on_error))) {}

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
  std::size_t n = s.opts.threads ? s.opts.threads : 1;
  for (std::size_t i = 0; i < n; ++i) {
    s.workers.push_back(std::make_unique<asio::io_context>(1));
    s.worker_guards.push_back(asio::make_work_guard(*s.workers.back()));
  }
  asio::co_spawn(s.io, s.accept_loop(), asio::detached);
  s.threads.emplace_back([&s] { s.io.run(); });
  for (auto& w : s.workers) s.threads.emplace_back([&w = *w] { w.run(); });
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
      asio::post(st->socket.get_executor(), [st] {
        beast::error_code ignored;
        if (!st->busy) st->socket.cancel(ignored);
      });
    }
    s.cv.wait_for(lock, s.opts.drain_timeout, [&s] { return s.sessions.empty(); });
  }
  s.io.stop();
  for (auto& w : s.workers) w->stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  s.worker_guards.clear();
  std::lock_guard lock(s.life->mu);
  s.life->alive = false;  // answers given from now on go nowhere
}

void wait_for_termination_signal() {
  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([](const beast::error_code&, int) {});
  io.run();
}

}  // namespace mysfits::http
