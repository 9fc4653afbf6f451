// Tests for the shared HTTP server: keep-alive, limits, timeouts and graceful stop.
#include "mysfits/common/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using namespace mysfits;

namespace {

http::response echo(http::request& req) {
  http::response res{bhttp::status::ok, req.version()};
  res.body() = std::string(req.target()) + ":" + req.body();
  return res;
}

struct client {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buf;
  explicit client(std::uint16_t port) {
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  bhttp::response<bhttp::string_body> send(bhttp::request<bhttp::string_body> req) {
    req.prepare_payload();
    bhttp::write(stream, req);
    return read();
  }
  // Writes bytes as they are (for requests a Beast message cannot express).
  void write_raw(const std::string& bytes) { asio::write(stream, asio::buffer(bytes)); }
  bhttp::response<bhttp::string_body> read() {
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    return res;
  }
  bhttp::response<bhttp::string_body> post(std::string target, std::string body) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, target, 11};
    req.body() = std::move(body);
    return send(std::move(req));
  }
};

}  // namespace

// Many requests share one keep-alive connection.
TEST(HttpServer, ServesKeepAliveRequests) {
  http::server s({}, echo);
  ASSERT_TRUE(s.start());
  client c(s.port());
  for (int i = 0; i < 5; ++i) {
    auto res = c.post("/x", std::to_string(i));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "/x:" + std::to_string(i));
    EXPECT_TRUE(res.keep_alive());
  }
}

// A body over the limit is refused with 413 from its Content-Length, before it is read.
TEST(HttpServer, RejectsOversizedBodyWith413) {
  http::server_options o;
  o.body_limit = 100;
  http::server s(o, echo);
  ASSERT_TRUE(s.start());
  client c(s.port());
  auto res = c.post("/", std::string(1000, 'a'));
  EXPECT_EQ(res.result_int(), 413);
}

// What the request reader must get right besides the plain case: a client that asks for
// "100 Continue" gets it before it sends the body; requests written back to back in one packet
// are answered in order; a request arriving a few bytes at a time is still one request; headers
// over the limit get 431; a client that stops sending in the middle of a body gets 400 (partial
// message) and the connection is closed; the server keeps serving.
TEST(HttpServer, ReadsContinuePipelinedSplitAndCutRequests) {
  http::server_options o;
  o.header_limit = 1024;
  http::server s(o, echo);
  ASSERT_TRUE(s.start());
  {
    client c(s.port());
    c.write_raw("POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    bhttp::response<bhttp::empty_body> cont;
    bhttp::read(c.stream, c.buf, cont);
    EXPECT_EQ(cont.result_int(), 100);
    c.write_raw("body");
    auto res = c.read();
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "/c:body");
  }
  {
    client c(s.port());
    c.write_raw(
        "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na"
        "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nbc");
    for (std::string want : {"/1:a", "/2:bc"}) {
      auto res = c.read();
      EXPECT_EQ(res.result_int(), 200);
      EXPECT_EQ(res.body(), want);
    }
    std::string split = "POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789";
    for (std::size_t i = 0; i < split.size(); i += 7) {
      c.write_raw(split.substr(i, 7));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_EQ(c.read().body(), "/s:0123456789");
  }
  {
    client c(s.port());
    c.write_raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'h') + "\r\n\r\n");
    EXPECT_EQ(c.read().result_int(), 431);
  }
  {
    client c(s.port());
    c.write_raw("POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab");
    c.stream.socket().shutdown(tcp::socket::shutdown_send);
    auto res = c.read();
    EXPECT_EQ(res.result_int(), 400);  // partial message
    EXPECT_FALSE(res.keep_alive());
  }
  client c(s.port());
  EXPECT_EQ(c.post("/after", "ok").body(), "/after:ok");
}

// A plain request is read without Beast's parser (http_server.cc, parse_plain_head); the handler
// gets the same message either way: method, target, version, every field (known name, text,
// value, in order) and body. Each pair differs only in a detail that sends the second to Beast
// (a tab before a value, a space after one), which Beast's parser drops; each request is also
// sent a byte at a time.
TEST(HttpServer, PlainRequestsReadAsBeastReadsThem) {
  auto describe = [](http::request& req) {
    http::response res{bhttp::status::ok, req.version()};
    std::string d = std::string(req.method_string()) + "|" + std::string(req.target()) + "|" +
                    std::to_string(req.version());
    for (const auto& f : req)
      d += "|" + std::to_string(static_cast<int>(f.name())) + ":" + std::string(f.name_string()) +
           "=" + std::string(f.value());
    res.body() = d + "|" + req.body();
    return res;
  };
  http::server s(http::server_options{}, describe);
  ASSERT_TRUE(s.start());
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"POST /p?q=1 HTTP/1.1\r\nHost: h\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
       "Authorization: AWS4-HMAC-SHA256 Credential=a/b, Signature=0\r\n"
       "content-type: application/x-amz-json-1.0\r\nX-Custom-1:  two  spaces\r\n"
       "Content-Length: 5\r\n\r\nhello",
       "POST /p?q=1 HTTP/1.1\r\nHost:\th\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n"
       "Authorization: AWS4-HMAC-SHA256 Credential=a/b, Signature=0\r\n"
       "content-type: application/x-amz-json-1.0\r\nX-Custom-1:  two  spaces\r\n"
       "Content-Length: 5\r\n\r\nhello"},
      {"GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\nHost: h\r\n\r\n",
       "GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\nHost: h \r\n\r\n"},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0 \r\n\r\n"},
  };
  for (const auto& [plain, beast] : pairs) {
    std::string got[3];
    for (int way = 0; way < 3; ++way) {
      client c(s.port());
      const std::string& text = way == 1 ? beast : plain;
      if (way == 2) {
        for (char ch : text) c.write_raw(std::string(1, ch));
      } else {
        c.write_raw(text);
      }
      auto res = c.read();
      EXPECT_EQ(res.result_int(), 200) << text;
      got[way] = res.body();
    }
    EXPECT_EQ(got[0], got[1]);
    EXPECT_EQ(got[0], got[2]);
    EXPECT_NE(got[0].find(":Host=h|"), std::string::npos) << got[0];
  }
}

// Malformed request lines get a 400 through the protocol's error responder.
TEST(HttpServer, MalformedRequestGets400FromResponder) {
  http::server s({}, echo, [](unsigned status, std::string_view msg) {
    auto r = http::json_error(status, msg);
    r.set("X-Kind", "custom");
    return r;
  });
  ASSERT_TRUE(s.start());
  client c(s.port());
  c.write_raw("NOT HTTP AT ALL\r\n\r\n");
  auto res = c.read();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(res["X-Kind"], "custom");
}

// Bytes that cannot begin an HTTP request get 400 as soon as they arrive, not a 408 when the
// header's deadline passes: a TLS handshake sent to the plain port, bare-LF line ends.
TEST(HttpServer, MalformedUnfinishedRequestGets400AtOnce) {
  http::server_options o;
  o.idle_timeout = std::chrono::seconds(30);  // a 408 would come only after this
  http::server s(o, echo);
  ASSERT_TRUE(s.start());
  for (const std::string& bytes :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
        std::string("GET / HTTP/1.1\nHost: x\n"), std::string("POST /\x01")}) {
    client c(s.port());
    c.write_raw(bytes);  // and the connection stays open
    EXPECT_EQ(c.read().result_int(), 400) << bytes;
  }
}

// A client that starts a request and stalls gets 408 once the deadline passes.
TEST(HttpServer, SlowClientGets408) {
  http::server_options o;
  o.idle_timeout = std::chrono::milliseconds(200);
  http::server s(o, echo);
  ASSERT_TRUE(s.start());
  client c(s.port());
  c.write_raw("POST / HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(c.read().result_int(), 408);
}

// A handler that throws gets a 500 and the server keeps serving.
TEST(HttpServer, HandlerExceptionIs500) {
  http::server s({}, [](http::request& req) -> http::response {
    if (req.target() == "/boom") throw std::runtime_error("boom");
    return echo(req);
  });
  ASSERT_TRUE(s.start());
  client c(s.port());
  EXPECT_EQ(c.post("/boom", "").result_int(), 500);
  client c2(s.port());
  EXPECT_EQ(c2.post("/ok", "").result_int(), 200);
}

// stop() lets an in-flight request finish and answers it before closing.
TEST(HttpServer, StopFinishesInFlightRequest) {
  std::promise<void> entered;
  std::atomic<bool> release{false};
  http::server s({}, [&](http::request& req) {
    entered.set_value();
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return echo(req);
  });
  ASSERT_TRUE(s.start());
  client c(s.port());
  auto fut = std::async(std::launch::async, [&] { return c.post("/slow", "b"); });
  entered.get_future().wait();
  std::thread stopper([&] { s.stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  auto res = fut.get();
  stopper.join();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "/slow:b");
  EXPECT_FALSE(res.keep_alive());
}

// Binding a port that is taken is an error, not a crash.
TEST(HttpServer, PortInUseIsAnError) {
  http::server a({}, echo);
  ASSERT_TRUE(a.start());
  http::server_options o;
  o.port = a.port();
  http::server b(o, echo);
  auto r = b.start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::io);
}

// A keep-alive connection left idle is closed once idle_timeout passes (the session's watchdog),
// and only then: a request sent before the deadline is still served.
TEST(HttpServer, ClosesIdleKeepAliveConnection) {
  http::server_options o;
  o.idle_timeout = std::chrono::milliseconds(300);
  http::server s(o, echo);
  ASSERT_TRUE(s.start());
  client c(s.port());
  EXPECT_EQ(c.post("/a", "1").result_int(), 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(c.post("/b", "2").result_int(), 200);  // within the deadline: still open
  // Then nothing is sent: the server closes, so a read ends (bounded by a long safety timeout).
  char byte = 0;
  beast::error_code ec = asio::error::would_block;
  c.stream.expires_after(std::chrono::seconds(30));
  c.stream.async_read_some(asio::buffer(&byte, 1),
                           [&ec](beast::error_code e, std::size_t) { ec = e; });
  c.io.restart();
  c.io.run_for(std::chrono::seconds(31));
  EXPECT_EQ(ec, asio::error::eof);
}

// Each connection lives on one thread: while one thread's handler blocks, a connection accepted
// next (another thread) is served.
TEST(HttpServer, BlockedHandlerDoesNotStopOtherThreads) {
  std::promise<void> entered;
  std::atomic<bool> release{false};
  http::server_options o;
  o.threads = 2;
  http::server s(o, [&](http::request& req) {
    if (req.target() == "/block") {
      entered.set_value();
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return echo(req);
  });
  ASSERT_TRUE(s.start());
  client blocked(s.port());
  auto fut = std::async(std::launch::async, [&] { return blocked.post("/block", "x"); });
  entered.get_future().wait();
  client other(s.port());
  auto res = other.post("/free", "y");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "/free:y");
  release = true;
  EXPECT_EQ(fut.get().body(), "/block:x");
}

// The response goes out as written by the handler: status line in the request's HTTP version,
// every header field, Content-Length and the body bytes.
TEST(HttpServer, WritesResponseHeadersAndBody) {
  http::server s({}, [](http::request& req) {
    http::response res{bhttp::status::created, req.version()};
    res.set("X-One", "1");
    res.set(bhttp::field::content_type, "text/plain");
    res.body() = std::string(100000, 'z') + "end";
    return res;
  });
  ASSERT_TRUE(s.start());
  for (unsigned version : {10u, 11u}) {
    client c(s.port());
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/", version};
    auto res = c.send(std::move(req));
    EXPECT_EQ(res.version(), version);
    EXPECT_EQ(res.result_int(), 201);
    EXPECT_EQ(res["X-One"], "1");
    EXPECT_EQ(res[bhttp::field::content_type], "text/plain");
    EXPECT_EQ(res[bhttp::field::content_length], "100003");
    EXPECT_EQ(res.body().size(), 100003u);
    EXPECT_TRUE(res.body().ends_with("end"));
  }
}

namespace {

// Responders an asynchronous handler put aside, for the test to answer from its own thread.
struct parked {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, http::responder>> waiting;  // (target:body, responder)
  std::size_t seen = 0;

  http::async_handler handler() {
    return [this](http::request& req, http::responder respond) {
      std::lock_guard lock(mu);
      ++seen;
      waiting.emplace_back(std::string(req.target()) + ":" + req.body(), std::move(respond));
      cv.notify_all();
    };
  }
  // Waits (up to 30 s) until `n` requests have reached the handler.
  bool wait_seen(std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return seen >= n; });
  }
  // Answers the oldest waiting request from a new thread, echoing it.
  void answer_oldest_from_another_thread() {
    std::pair<std::string, http::responder> w{"", http::responder(nullptr)};
    {
      std::lock_guard lock(mu);
      w = std::move(waiting.front());
      waiting.erase(waiting.begin());
    }
    std::thread([w = std::move(w)] {
      http::response res{bhttp::status::ok, 11};
      res.body() = "late " + w.first;
      w.second(std::move(res));
    }).join();
  }
};

}  // namespace

// An asynchronous handler answers later from another thread; until then the connection reads no
// further request (HTTP/1.1 order), and the answers come back in request order.
TEST(HttpServer, AsyncHandlerAnswersFromAnotherThreadInOrder) {
  parked p;
  http::server s({}, p.handler());
  ASSERT_TRUE(s.start());
  client c(s.port());
  // Two pipelined requests on one connection.
  c.write_raw(
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1"
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n2");
  ASSERT_TRUE(p.wait_seen(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  {
    std::lock_guard lock(p.mu);
    EXPECT_EQ(p.seen, 1u) << "the second request was read before the first was answered";
  }
  p.answer_oldest_from_another_thread();
  auto first = c.read();
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(first.body(), "late /a:1");
  EXPECT_TRUE(first.keep_alive());
  ASSERT_TRUE(p.wait_seen(2));
  p.answer_oldest_from_another_thread();
  EXPECT_EQ(c.read().body(), "late /b:2");
}

// Answering inside the handler works too, and only the first of several answers counts.
TEST(HttpServer, AsyncHandlerAnswersInlineOnce) {
  http::server s({}, [](http::request& req, http::responder respond) {
    respond(echo(req));
    http::response other{bhttp::status::bad_request, 11};
    respond(std::move(other));  // ignored
  });
  ASSERT_TRUE(s.start());
  client c(s.port());
  for (int i = 0; i < 3; ++i) {
    auto res = c.post("/in", std::to_string(i));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "/in:" + std::to_string(i));
  }
}

// A responder dropped unanswered, or a handler that throws, gives a 500 through the protocol's
// error responder; the connection keeps serving.
TEST(HttpServer, AsyncHandlerDroppedOrThrowingGives500) {
  http::server s(
      {},
      [](http::request& req, http::responder respond) {
        if (req.target() == "/drop") return;
        if (req.target() == "/throw") throw std::runtime_error("boom");
        respond(echo(req));
      },
      [](unsigned status, std::string_view msg) {
        auto r = http::json_error(status, msg);
        r.set("X-Kind", "custom");
        return r;
      });
  ASSERT_TRUE(s.start());
  client c(s.port());
  auto dropped = c.post("/drop", "");
  EXPECT_EQ(dropped.result_int(), 500);
  EXPECT_EQ(dropped["X-Kind"], "custom");
  auto thrown = c.post("/throw", "");
  EXPECT_EQ(thrown.result_int(), 500);
  EXPECT_EQ(c.post("/ok", "z").body(), "/ok:z");
}

// stop() waits for a deferred answer, which is still delivered (with Connection: close).
TEST(HttpServer, StopWaitsForDeferredAnswer) {
  parked p;
  http::server s({}, p.handler());
  ASSERT_TRUE(s.start());
  client c(s.port());
  auto fut = std::async(std::launch::async, [&] { return c.post("/slow", "b"); });
  ASSERT_TRUE(p.wait_seen(1));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    s.stop();
    stopped = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(stopped) << "stop() returned while an answer was still owed";
  p.answer_oldest_from_another_thread();
  auto res = fut.get();
  stopper.join();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "late /slow:b");
  EXPECT_FALSE(res.keep_alive());
}

// An answer that never comes: stop() gives up after drain_timeout; answering (or dropping the
// responder) after the server stopped, or after it is destroyed, is harmless.
TEST(HttpServer, StopGivesUpOnDeferredAnswerAfterDrainTimeout) {
  parked p;
  std::unique_ptr<client> c;
  {
    http::server_options o;
    o.drain_timeout = std::chrono::milliseconds(200);
    http::server s(o, p.handler());
    ASSERT_TRUE(s.start());
    c = std::make_unique<client>(s.port());
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/never", 11};
    req.body() = "x";
    req.prepare_payload();
    bhttp::write(c->stream, req);
    ASSERT_TRUE(p.wait_seen(1));
    s.stop();  // returns after the drain timeout
    http::response late{bhttp::status::ok, 11};
    p.waiting.front().second(late);  // after stop: goes nowhere
  }
  // The server is gone, and with it the connection, closed without an answer.
  bhttp::response<bhttp::string_body> res;
  beast::error_code ec;
  bhttp::read(c->stream, c->buf, res, ec);
  EXPECT_TRUE(ec);
  http::response later{bhttp::status::ok, 11};
  p.waiting.front().second(later);  // after the server is destroyed
  p.waiting.clear();                // the last copy goes
}
