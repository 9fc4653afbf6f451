// Integration tests of large bodies through mysfits-edge in HTTP mode: bodies over
// options::stream_threshold are streamed (with backpressure) rather than buffered whole, in both
// directions, intact, with the framing and keep-alive a client needs; a response cut after its
// head went out closes the client connection and is counted; a client that stops mid-upload
// makes the edge close the upstream connection; small bodies are buffered as before.
//
// The upstream here is scripted per request path on blocking sockets (a thread per connection),
// so a test can make it send part of a body and wait for the test. Every wait is bounded: a
// test fails rather than hangs.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "edge_test_support.h"
#include "mysfits/common/metrics.h"

using namespace mysfits::edge;
using namespace mysfits::edge::testing;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

constexpr std::size_t MiB = 1024 * 1024;

// Deterministic bytes (all 256 values occur), different per `seed`.
std::string make_body(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761U + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1664525U + 1013904223U;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void set_timeouts(tcp::socket& s, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A one-shot signal with a bounded wait.
class latch_signal {
 public:
  void set() {
    std::lock_guard l(mu_);
    set_ = true;
    cv_.notify_all();
  }
  // True if set within `timeout` (20 s: generous, never the assertion's point).
  bool wait(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// An upstream that reads each request's head (and, unless the handler reads the body itself,
// its whole body) and gives the connection to the handler for its path. Connections without a
// request (TCP health checks) are just closed.
class scripted_upstream {
 public:
  // The handler gets the parsed request header (the body not read yet), the connection and the
  // bytes read past the header; it returns whether the connection may serve another request.
  using handler = std::function<bool(bhttp::request_parser<bhttp::string_body>&, tcp::socket&,
                                     beast::flat_buffer&)>;
  explicit scripted_upstream(handler h) : h_(std::move(h)), acceptor_(io_) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~scripted_upstream() {
    stopping_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocked accept
    {
      std::lock_guard l(mu_);
      for (auto& s : sockets_) ::shutdown(s->native_handle(), SHUT_RDWR);
    }
    accept_thread_.join();
    for (auto& t : threads_) t.join();
    beast::error_code ignored;
    acceptor_.close(ignored);
  }
  std::uint16_t port() const { return port_; }
  std::string id() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void accept_loop() {
    for (;;) {
      auto s = std::make_shared<tcp::socket>(io_);
      beast::error_code ec;
      acceptor_.accept(*s, ec);
      if (ec || stopping_) return;
      set_timeouts(*s, 20);
      std::lock_guard l(mu_);
      sockets_.push_back(s);
      threads_.emplace_back([this, s] { serve(*s); });
    }
  }
  void serve(tcp::socket& s) {
    beast::flat_buffer buf;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> p;
      p.body_limit(boost::none);
      p.header_limit(64 * 1024);
      beast::error_code ec;
      bhttp::read_header(s, buf, p, ec);
      if (ec) break;
      if (!h_(p, s, buf)) break;
    }
    beast::error_code ignored;
    s.shutdown(tcp::socket::shutdown_both, ignored);
  }

  handler h_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<std::shared_ptr<tcp::socket>> sockets_;
  std::list<std::thread> threads_;
};

void write_all(tcp::socket& s, std::string_view data) {
  beast::error_code ec;
  asio::write(s, asio::buffer(data.data(), data.size()), ec);
}

// Writes `body` as chunks of `chunk` bytes, then the last chunk.
void write_chunked(tcp::socket& s, std::string_view body, std::size_t chunk) {
  for (std::size_t at = 0; at < body.size(); at += chunk) {
    const auto piece = body.substr(at, chunk);
    char line[32];
    const int n = std::snprintf(line, sizeof line, "%zx\r\n", piece.size());
    write_all(s, std::string_view(line, static_cast<std::size_t>(n)));
    write_all(s, piece);
    write_all(s, "\r\n");
  }
  write_all(s, "0\r\n\r\n");
}

double active_connections(std::uint16_t port) {
  return mysfits::metrics::default_registry()
      .get_gauge("edge_active_connections", "", {{"listener", "http:" + std::to_string(port)}})
      .value();
}

double cut_responses(const std::string& endpoint) {
  return mysfits::metrics::default_registry()
      .get_counter("edge_responses_cut_total", "", {{"group", "us-west-2"}, {"endpoint", endpoint}})
      .value();
}

// Appends what one read_some gets to `out`.
std::size_t read_some_into(tcp::socket& s, std::string& out, beast::error_code& ec) {
  char piece[64 * 1024];
  const std::size_t n = s.read_some(asio::buffer(piece), ec);
  out.append(piece, n);
  return n;
}

// A raw client connection to the edge with blocking reads (20 s timeouts).
struct raw_client {
  asio::io_context io;
  tcp::socket s{io};
  beast::flat_buffer buf;
  explicit raw_client(std::uint16_t port) {
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    set_timeouts(s, 20);
  }
  void send(std::string_view bytes) { write_all(s, bytes); }
  // Reads one whole response (any size); `ec` says how the read ended.
  response read(beast::error_code& ec, bool head_request = false) {
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(boost::none);
    p.skip(head_request);
    bhttp::read(s, buf, p, ec);
    return p.release();
  }
  // Whether the edge closed the connection (a read finds the end, not data).
  bool closed() {
    if (buf.size() > 0) return false;
    char c;
    beast::error_code ec;
    s.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
};

std::string get_request(const std::string& target, int version = 11) {
  return "GET " + target +
         (version == 11 ? " HTTP/1.1\r\nHost: edge.test\r\n\r\n"
                        : " HTTP/1.0\r\nHost: edge.test\r\n\r\n");
}

// The large bodies the upstream sends, by path.
const std::string& big_body() {
  static const std::string b = make_body(40 * MiB, 1);
  return b;
}

// One region, one endpoint; no first-byte timeout (the scripted upstreams take their time over
// 40 MiB under the sanitizers, and no test here is about that timeout).
endpoint_group_config one_endpoint(const std::string& name, std::uint16_t port) {
  auto g = region(name, 100, {port}, fast_health("TCP"));
  g.first_byte_timeout = std::chrono::milliseconds(0);
  return g;
}

options one_region(std::uint16_t port) {
  big_body();  // made before any request, not while one waits
  return accelerator_options({one_endpoint("us-west-2", port)});
}

// Handlers shared by the tests: /cl (Content-Length), /chunked, /close (ended by closing) send
// the 40 MiB body; /small-chunked a 1,000-byte chunked one; /echo answers with the size and
// checksum of the request body it read; /ok a small 200.
bool serve_common(bhttp::request_parser<bhttp::string_body>& p, tcp::socket& s,
                  beast::flat_buffer& buf) {
  const std::string target(p.get().target());
  if (target == "/cl") {
    write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big_body().size()) +
                     "\r\nX-Kind: cl\r\n\r\n");
    for (std::size_t at = 0; at < big_body().size(); at += 256 * 1024) {
      write_all(s, std::string_view(big_body()).substr(at, 256 * 1024));
    }
    return true;
  }
  if (target == "/chunked") {
    write_all(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    write_chunked(s, big_body(), 100 * 1000);
    return true;
  }
  if (target == "/close") {
    write_all(s, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    write_all(s, big_body());
    return false;
  }
  if (target == "/small-chunked") {
    write_all(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    write_chunked(s, std::string_view(big_body()).substr(0, 1000), 300);
    return true;
  }
  if (target == "/echo") {
    beast::error_code ec;
    bhttp::read(s, buf, p, ec);
    if (ec) return false;
    const auto& body = p.get().body();
    const std::string answer = std::to_string(body.size()) + " " + std::to_string(fnv1a(body));
    write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(answer.size()) +
                     "\r\n\r\n" + answer);
    return true;
  }
  write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  return true;
}

}  // namespace

// A 40 MiB response with a Content-Length reaches an HTTP/1.1 client intact, with that
// Content-Length, and the connection stays open for the next request.
TEST(EdgeStream, LargeContentLengthResponseArrivesWholeAndKeepsAlive) {
  scripted_upstream up(serve_common);
  proxy px(one_region(up.port()));
  ASSERT_TRUE(px.start());
  raw_client c(px.ports()[0]);
  c.send(get_request("/cl"));
  beast::error_code ec;
  auto r = c.read(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[bhttp::field::content_length], std::to_string(big_body().size()));
  EXPECT_EQ(r["X-Kind"], "cl");
  EXPECT_EQ(r.body().size(), big_body().size());
  EXPECT_EQ(fnv1a(r.body()), fnv1a(big_body()));
  EXPECT_TRUE(r.keep_alive());
  c.send(get_request("/ok"));
  auto again = c.read(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(again.body(), "ok");
}

// A 40 MiB chunked response, and one ended by the upstream closing, reach an HTTP/1.1 client
// re-chunked by the edge (kept alive), and an HTTP/1.0 client without a length, the edge
// closing the connection at the end.
TEST(EdgeStream, LargeChunkedAndCloseDelimitedResponsesArriveWhole) {
  scripted_upstream up(serve_common);
  proxy px(one_region(up.port()));
  ASSERT_TRUE(px.start());
  for (const std::string path : {"/chunked", "/close"}) {
    SCOPED_TRACE(path);
    {
      raw_client c(px.ports()[0]);
      c.send(get_request(path));
      beast::error_code ec;
      auto r = c.read(ec);
      ASSERT_FALSE(ec) << ec.message();
      EXPECT_EQ(r.result_int(), 200);
      EXPECT_TRUE(r.chunked());
      EXPECT_EQ(r.count(bhttp::field::content_length), 0u);
      EXPECT_EQ(r.body().size(), big_body().size());
      EXPECT_EQ(fnv1a(r.body()), fnv1a(big_body()));
      EXPECT_TRUE(r.keep_alive());
      c.send(get_request("/ok"));
      auto again = c.read(ec);
      ASSERT_FALSE(ec) << ec.message();
      EXPECT_EQ(again.body(), "ok");
    }
    {
      raw_client c(px.ports()[0]);
      c.send("GET " + path + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      beast::error_code ec;
      auto r = c.read(ec);
      ASSERT_FALSE(ec) << ec.message();
      EXPECT_EQ(r.result_int(), 200);
      EXPECT_EQ(r.version(), 10);
      EXPECT_FALSE(r.chunked());
      EXPECT_EQ(r.count(bhttp::field::content_length), 0u);
      EXPECT_FALSE(r.keep_alive());
      EXPECT_EQ(r.body().size(), big_body().size());
      EXPECT_EQ(fnv1a(r.body()), fnv1a(big_body()));
      EXPECT_TRUE(c.closed());
    }
  }
  // A 40 MiB Content-Length body to an HTTP/1.0 client keeps its length (and keep-alive).
  raw_client c(px.ports()[0]);
  c.send("GET /cl HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  beast::error_code ec;
  auto r = c.read(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(r[bhttp::field::content_length], std::to_string(big_body().size()));
  EXPECT_TRUE(r.keep_alive());
  EXPECT_EQ(fnv1a(r.body()), fnv1a(big_body()));
}

// A chunked response that ends within the threshold is buffered as before: de-chunked, with a
// Content-Length.
TEST(EdgeStream, SmallChunkedResponseIsStillBufferedWithALength) {
  scripted_upstream up(serve_common);
  proxy px(one_region(up.port()));
  ASSERT_TRUE(px.start());
  raw_client c(px.ports()[0]);
  c.send(get_request("/small-chunked"));
  beast::error_code ec;
  auto r = c.read(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_FALSE(r.chunked());
  EXPECT_EQ(r[bhttp::field::content_length], "1000");
  EXPECT_EQ(r.body(), std::string_view(big_body()).substr(0, 1000));
}

// Proof that a response streams: the upstream sends the head and the first MiB of a 4 MiB body,
// then waits until the client has received that first MiB through the edge before it sends the
// rest. Buffering the whole body would leave the client waiting (and the test would fail when
// the bounded waits run out).
TEST(EdgeStream, ResponseBodyIsRelayedBeforeItIsComplete) {
  const std::string body = make_body(4 * MiB, 2);
  latch_signal client_got_first_part;
  std::atomic<bool> released_by_client{false};
  scripted_upstream up([&](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    if (p.get().target() != "/wait") return serve_common(p, s, buf);
    write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    write_all(s, std::string_view(body).substr(0, MiB));
    released_by_client = client_got_first_part.wait();
    write_all(s, std::string_view(body).substr(MiB));
    return true;
  });
  proxy px(one_region(up.port()));
  ASSERT_TRUE(px.start());
  raw_client c(px.ports()[0]);
  c.send(get_request("/wait"));
  // Raw reads (a parser may wait to fill its buffer): the head, then the body as it comes.
  std::string got;
  std::size_t body_at = std::string::npos;
  beast::error_code ec;
  while (body_at == std::string::npos || got.size() - body_at < body.size()) {
    const std::size_t n = read_some_into(c.s, got, ec);
    if (ec) break;
    if (n > 0 && body_at == std::string::npos) {
      if (const auto end = got.find("\r\n\r\n"); end != std::string::npos) body_at = end + 4;
    }
    if (body_at != std::string::npos && got.size() - body_at >= MiB) {
      client_got_first_part.set();
    }
  }
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_NE(body_at, std::string::npos);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n"));
  got.erase(0, body_at);
  EXPECT_TRUE(released_by_client) << "the first part did not reach the client before the rest";
  EXPECT_EQ(got.size(), body.size());
  EXPECT_EQ(fnv1a(got), fnv1a(body));
}

// 40 MiB uploads, with a Content-Length and chunked (with Expect: 100-continue), reach the
// upstream whole.
TEST(EdgeStream, LargeUploadsArriveWhole) {
  scripted_upstream up(serve_common);
  proxy px(one_region(up.port()));
  ASSERT_TRUE(px.start());
  const std::string& body = big_body();
  const std::string expected = std::to_string(body.size()) + " " + std::to_string(fnv1a(body));
  {
    raw_client c(px.ports()[0]);
    std::thread writer([&] {
      c.send("POST /echo HTTP/1.1\r\nHost: edge.test\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n");
      c.send(body);
    });
    beast::error_code ec;
    auto r = c.read(ec);
    writer.join();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), expected);
    EXPECT_TRUE(r.keep_alive());
  }
  {
    raw_client c(px.ports()[0]);
    c.send(
        "POST /echo HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\n"
        "Expect: 100-continue\r\n\r\n");
    beast::error_code ec;
    auto cont = c.read(ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(cont.result_int(), 100);
    std::thread writer([&] { write_chunked(c.s, body, 300 * 1000); });
    auto r = c.read(ec);
    writer.join();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), expected);
    // Kept alive: the next request on the connection is answered.
    c.send(get_request("/ok"));
    auto again = c.read(ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(again.body(), "ok");
  }
}

// Proof that an upload streams: the upstream sees the first MiB of a 4 MiB body before the
// client sends the rest (the client waits for that, bounded).
TEST(EdgeStream, RequestBodyIsForwardedBeforeItIsComplete) {
  const std::string body = make_body(4 * MiB, 3);
  latch_signal upstream_got_first_part;
  scripted_upstream up([&](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    if (p.get().target() != "/upload") return serve_common(p, s, buf);
    // Raw reads, after what came with the head (a parser may wait to fill its buffer).
    if (p.content_length() != body.size()) return false;
    std::string got(static_cast<const char*>(buf.data().data()), buf.size());
    buf.consume(buf.size());
    beast::error_code ec;
    while (got.size() < body.size()) {
      if (got.size() >= MiB) upstream_got_first_part.set();
      read_some_into(s, got, ec);
      if (ec) return false;
    }
    const std::string answer = got == body ? "intact" : "damaged";
    write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(answer.size()) +
                     "\r\n\r\n" + answer);
    return true;
  });
  proxy px(one_region(up.port()));
  ASSERT_TRUE(px.start());
  raw_client c(px.ports()[0]);
  c.send("PUT /upload HTTP/1.1\r\nHost: edge.test\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n");
  c.send(std::string_view(body).substr(0, MiB));
  EXPECT_TRUE(upstream_got_first_part.wait())
      << "the upstream did not get the first part before the rest was sent";
  c.send(std::string_view(body).substr(MiB));
  beast::error_code ec;
  auto r = c.read(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "intact");
}

// An upstream that fails mid-body after the head went out: the client gets a short body and a
// closed connection (no 502: the head was sent), the cut is counted, the edge keeps serving.
TEST(EdgeStream, ResponseCutMidBodyClosesTheClientConnection) {
  scripted_upstream up([](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    if (p.get().target() == "/cut") {
      write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(4 * MiB) + "\r\n\r\n");
      write_all(s, std::string_view(big_body()).substr(0, MiB));
      return false;  // closes
    }
    if (p.get().target() == "/cut-chunked") {
      write_all(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      const auto part = std::string_view(big_body()).substr(0, MiB);
      write_all(s, "100000\r\n");
      write_all(s, part);
      write_all(s, "\r\n");
      return false;  // closes without the last chunk
    }
    return serve_common(p, s, buf);
  });
  proxy px(one_region(up.port()));
  ASSERT_TRUE(px.start());
  const double before = cut_responses(up.id());
  {
    raw_client c(px.ports()[0]);
    c.send(get_request("/cut"));
    beast::error_code ec;
    auto r = c.read(ec);
    EXPECT_EQ(ec, bhttp::error::partial_message);
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_LT(r.body().size(), 4 * MiB);
  }
  {
    raw_client c(px.ports()[0]);
    c.send(get_request("/cut-chunked"));
    beast::error_code ec;
    auto r = c.read(ec);
    EXPECT_EQ(ec, bhttp::error::partial_message);
    EXPECT_TRUE(r.chunked());
  }
  EXPECT_TRUE(eventually([&] { return cut_responses(up.id()) == before + 2; }));
  auto ok = get_once(px.ports()[0], "/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), "ok");
  EXPECT_TRUE(eventually([&] { return active_connections(px.ports()[0]) == 0; }));
}

// A client that stops mid-upload: the edge closes the upstream connection (the upstream sees
// its request end unfinished), answers nothing, leaks no connection and keeps serving.
TEST(EdgeStream, ClientGoneMidUploadClosesTheUpstreamConnection) {
  std::atomic<int> cut_uploads{0}, started{0};
  scripted_upstream up([&](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    if (p.get().target() != "/upload") return serve_common(p, s, buf);
    ++started;
    beast::error_code ec;
    bhttp::read(s, buf, p, ec);
    if (ec) {
      ++cut_uploads;
      return false;
    }
    write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    return true;
  });
  proxy px(one_region(up.port()));
  ASSERT_TRUE(px.start());
  const auto port = px.ports()[0];
  for (const std::string& framing :
       {"Content-Length: " + std::to_string(4 * MiB), std::string("Transfer-Encoding: chunked")}) {
    SCOPED_TRACE(framing);
    const int before = cut_uploads;
    ASSERT_EQ(started, before);
    {
      raw_client c(port);
      c.send("PUT /upload HTTP/1.1\r\nHost: edge.test\r\n" + framing + "\r\n\r\n");
      const auto part = std::string_view(big_body()).substr(0, MiB);
      if (framing.starts_with("Transfer")) {
        c.send("100000\r\n");
        c.send(part);
        c.send("\r\n");
      } else {
        c.send(part);
      }
      // The upstream has the request before the client goes.
      ASSERT_TRUE(eventually([&] { return started == before + 1; }));
    }
    EXPECT_TRUE(eventually([&] { return cut_uploads == before + 1; }));
    EXPECT_TRUE(eventually([&] { return active_connections(port) == 0; }));
  }
  auto ok = get_once(port, "/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), "ok");
}

// With a body_limit set, a larger upload gets 413 and a larger response 502, streamed or not.
TEST(EdgeStream, BodyLimitStillRefusesWhenSet) {
  scripted_upstream up(serve_common);
  auto o = one_region(up.port());
  o.body_limit = 2 * MiB;
  proxy px(o);
  ASSERT_TRUE(px.start());
  {
    raw_client c(px.ports()[0]);
    c.send("POST /echo HTTP/1.1\r\nHost: edge.test\r\nContent-Length: " + std::to_string(3 * MiB) +
           "\r\n\r\n");
    beast::error_code ec;
    auto r = c.read(ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.result_int(), 413);
  }
  {
    // Chunked: refused once it grows past the limit (after the start went upstream).
    raw_client c(px.ports()[0]);
    c.send("POST /echo HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\n\r\n");
    // Chunks a little past the limit, and no last chunk: the client then waits for the answer.
    const auto part = std::string_view(big_body()).substr(0, 2 * MiB + 128 * 1024);
    for (std::size_t at = 0; at < part.size(); at += 64 * 1024) {
      c.send("10000\r\n");
      c.send(part.substr(at, 64 * 1024));
      c.send("\r\n");
    }
    beast::error_code ec;
    auto r = c.read(ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.result_int(), 413);
    EXPECT_FALSE(r.keep_alive());
  }
  auto r = get_once(px.ports()[0], "/cl");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 502);
  auto ok = get_once(px.ports()[0], "/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), "ok");
}

// A streamed request cannot be sent twice: one whose target cuts the connection after taking
// it gets 502 even for a method that a buffered request would be retried with.
TEST(EdgeStream, StreamedRequestIsNotResentAfterItWent) {
  std::atomic<int> attempts{0};
  scripted_upstream cutter([&](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    beast::error_code ec;
    bhttp::read(s, buf, p, ec);
    ++attempts;
    return false;  // closes without an answer
  });
  scripted_upstream other(serve_common);
  big_body();
  proxy px(accelerator_options(
      {one_endpoint("us-west-2", cutter.port()), one_endpoint("us-east-1", other.port())}));
  ASSERT_TRUE(px.start());
  ASSERT_TRUE(eventually(
      [&] { return target_health(px.control_port(), "us-west-2", cutter.id()) == "healthy"; }));
  // A small PUT is retried on the other region ...
  bhttp::request<bhttp::string_body> small{bhttp::verb::put, "/echo", 11};
  small.body() = "tiny";
  auto r = client(px.ports()[0]).send(small);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(attempts, 1);
  // ... a large one is not.
  bhttp::request<bhttp::string_body> large{bhttp::verb::put, "/echo", 11};
  large.body() = std::string(big_body().substr(0, 2 * MiB));
  auto l = client(px.ports()[0]).send(large);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->result_int(), 502);
  EXPECT_EQ(attempts, 2);
}

// A client that stops reading a streamed response: nothing piles up for it in the edge, and
// once a write to it has waited request_timeout the edge closes its connection (and the
// upstream one); the edge keeps serving.
TEST(EdgeStream, ClientThatStopsReadingIsClosed) {
  scripted_upstream up(serve_common);
  auto o = one_region(up.port());
  o.request_timeout = std::chrono::milliseconds(500);
  proxy px(o);
  ASSERT_TRUE(px.start());
  const auto port = px.ports()[0];
  raw_client c(port);
  c.send(get_request("/cl"));  // 40 MiB, far more than the sockets' buffers hold; never read
  // Open first (the gauge is 0 until the edge has taken the connection), then closed.
  ASSERT_TRUE(eventually([&] { return active_connections(port) == 1; }));
  EXPECT_TRUE(eventually([&] { return active_connections(port) == 0; }));
  // What reached the client before the close is a short body: the message never completes.
  beast::error_code ec;
  auto r = c.read(ec);
  EXPECT_TRUE(ec);
  EXPECT_LT(r.body().size(), big_body().size());
  auto ok = get_once(port, "/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), "ok");
}

// Early answers (docs/edge.md "Bodies"): an upstream's final response that comes while a
// streamed upload is still going.

namespace {

double early_responses(const std::string& endpoint) {
  return mysfits::metrics::default_registry()
      .get_counter("edge_early_responses_total", "",
                   {{"group", "us-west-2"}, {"endpoint", endpoint}})
      .value();
}

double client_responses(std::uint16_t port, const std::string& code_class) {
  return mysfits::metrics::default_registry()
      .get_counter("edge_listener_requests_total", "",
                   {{"listener", "http:" + std::to_string(port)}, {"code", code_class}})
      .value();
}

// Runs `f` on a thread of its own and waits for it at most `bound`; past that, shuts the
// client's socket down — which ends any read or write blocked on it, so nothing hangs — and
// returns false.
template <class F>
bool within(raw_client& c, std::chrono::seconds bound, F f) {
  auto done = std::async(std::launch::async, std::move(f));
  if (done.wait_for(bound) == std::future_status::ready) return true;
  ::shutdown(c.s.native_handle(), SHUT_RDWR);
  done.wait();
  return false;
}

// A client's upload from a thread of its own, the way curl sends one: it stops sending once it
// has an answer (answered()), and holds back the body's last MiB until then, so the answer has
// to come while the upload is still going. Bounded: finish() waits 20 s for the thread, then
// shuts the socket down.
class early_uploader {
 public:
  early_uploader(raw_client& c, const std::string& head, std::string_view body, bool chunked)
      : c_(c), thread_([this, head, body, chunked] { run(head, body, chunked); }) {}
  ~early_uploader() { finish(); }
  void answered() {
    stop_ = true;
    answered_.set();
  }
  // Waits for the thread; false if it had to be stopped by shutting the socket down.
  bool finish() {
    answered();
    if (!thread_.joinable()) return true;
    bool ended = within(c_, std::chrono::seconds(20), [this] { thread_.join(); });
    return ended;
  }
  std::size_t sent() const { return sent_; }

 private:
  void run(const std::string& head, std::string_view body, bool chunked) {
    beast::error_code ec;
    asio::write(c_.s, asio::buffer(head), ec);
    constexpr std::size_t piece = 64 * 1024;
    for (std::size_t at = 0; at < body.size() && !ec && !stop_; at += piece) {
      if (body.size() - at <= MiB) {
        answered_.wait();
        return;
      }
      const auto part = body.substr(at, piece);
      if (chunked) {
        char line[32];
        const int n = std::snprintf(line, sizeof line, "%zx\r\n", part.size());
        const std::array<asio::const_buffer, 3> bufs{
            asio::buffer(line, static_cast<std::size_t>(n)), asio::buffer(part.data(), part.size()),
            asio::buffer("\r\n", 2)};
        asio::write(c_.s, bufs, ec);
      } else {
        asio::write(c_.s, asio::buffer(part.data(), part.size()), ec);
      }
      if (!ec) sent_ += part.size();
    }
  }

  raw_client& c_;
  latch_signal answered_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> sent_{0};
  std::thread thread_;
};

// The upstream's early 413 ("too large"), read while `writer` still uploads; then the edge
// closes the connection (Connection: close) and the upload ends.
void expect_early_413_then_close(raw_client& c, early_uploader& writer) {
  response r;
  beast::error_code ec;
  ASSERT_TRUE(within(c, std::chrono::seconds(15), [&] { r = c.read(ec); }))
      << "no answer while the upload was going";
  writer.answered();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_EQ(r.body(), "too large");
  EXPECT_FALSE(r.keep_alive());
  bool closed = false;
  EXPECT_TRUE(within(c, std::chrono::seconds(15), [&] { closed = c.closed(); }));
  EXPECT_TRUE(closed);
  EXPECT_TRUE(writer.finish());
}

std::string upload_head(const std::string& target, std::size_t size, bool chunked) {
  return "PUT " + target + " HTTP/1.1\r\nHost: edge.test\r\n" +
         (chunked ? std::string("Transfer-Encoding: chunked")
                  : "Content-Length: " + std::to_string(size)) +
         "\r\n\r\n";
}

// The client uploads 40 MiB to an upstream that answers at once with a small 413 and does not
// read the body: `how` it then goes on is "hold" (it neither reads nor closes until the client
// has its answer: the stall of a half-duplex proxy), "shutdown" (it shuts the connection down)
// or "reset" (it closes the socket with the body unread, so its kernel resets the connection
// and the edge's writes fail). The client gets the 413 while it is still sending (the upstream
// timeout is 30 s and the wait for the answer 15 s, so an edge that stalls until the timeout
// fails), with Connection: close, and the edge closes its connection; no connection is left
// open, the early answer is counted, and the edge keeps serving.
void expect_early_refusal(bool chunked, const std::string& how) {
  latch_signal client_answered;
  scripted_upstream up([&](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    if (p.get().target() != "/refuse") return serve_common(p, s, buf);
    write_all(s,
              "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\n"
              "too large");
    if (how == "hold") client_answered.wait();
    if (how == "reset") {
      beast::error_code ignored;
      s.close(ignored);
    }
    return false;  // closes (shuts down), the body unread
  });
  auto o = one_region(up.port());
  o.upstream_timeout = std::chrono::seconds(30);
  proxy px(o);
  ASSERT_TRUE(px.start());
  const auto port = px.ports()[0];
  const double early_before = early_responses(up.id());
  const double answered_4xx = client_responses(port, "4xx");
  {
    raw_client c(port);
    early_uploader writer(c, upload_head("/refuse", big_body().size(), chunked), big_body(),
                          chunked);
    ASSERT_NO_FATAL_FAILURE(expect_early_413_then_close(c, writer));
  }
  client_answered.set();
  EXPECT_TRUE(eventually([&] { return active_connections(port) == 0; }));
  EXPECT_EQ(early_responses(up.id()), early_before + 1);
  EXPECT_EQ(client_responses(port, "4xx"), answered_4xx + 1);
  auto ok = get_once(port, "/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), "ok");
}

}  // namespace

// An upstream that answers 413 to a Content-Length upload and stops reading it, then closes
// or not: the client gets the 413 at once (not a 504 after the upstream timeout, nor a 502), and
// the connection closes.
TEST(EdgeStream, EarlyAnswerToContentLengthUploadReachesTheClient) {
  for (const std::string how : {"hold", "shutdown"}) {
    SCOPED_TRACE(how);
    expect_early_refusal(false, how);
  }
}

// The same with a chunked upload.
TEST(EdgeStream, EarlyAnswerToChunkedUploadReachesTheClient) {
  for (const std::string how : {"hold", "shutdown"}) {
    SCOPED_TRACE(how);
    expect_early_refusal(true, how);
  }
}

// The same when the upstream closes its socket with the body unread (its kernel resets the
// connection, and the edge's writes of the body fail): the answer it sent first still reaches
// the client.
TEST(EdgeStream, EarlyAnswerBeforeAResetReachesTheClient) {
  for (const bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "content-length");
    expect_early_refusal(chunked, "reset");
  }
}

// An upstream that answers 413 at once and then reads (drains) the body, keeping its connection:
// the client gets the 413 with Connection: close; the edge stops the upload once the answer is
// complete and closes the upstream connection (never pooled: the request went only in part), so
// the upstream's drain ends with the body cut short; the next request is served as usual.
TEST(EdgeStream, EarlyAnswerFromADrainingUpstreamClosesBothConnections) {
  std::atomic<int> drains_cut{0}, drains_whole{0};
  scripted_upstream up([&](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    if (p.get().target() != "/drain") return serve_common(p, s, buf);
    write_all(s, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\n\r\ntoo large");
    beast::error_code ec;
    bhttp::read(s, buf, p, ec);
    if (ec) {
      ++drains_cut;
      return false;
    }
    ++drains_whole;
    return true;
  });
  auto o = one_region(up.port());
  o.upstream_timeout = std::chrono::seconds(30);
  proxy px(o);
  ASSERT_TRUE(px.start());
  const auto port = px.ports()[0];
  const double early_before = early_responses(up.id());
  for (const bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "content-length");
    const int cut_before = drains_cut;
    {
      raw_client c(port);
      early_uploader writer(c, upload_head("/drain", big_body().size(), chunked), big_body(),
                            chunked);
      ASSERT_NO_FATAL_FAILURE(expect_early_413_then_close(c, writer));
    }
    EXPECT_TRUE(eventually([&] { return drains_cut == cut_before + 1; }));
    EXPECT_TRUE(eventually([&] { return active_connections(port) == 0; }));
  }
  EXPECT_EQ(drains_whole, 0);
  EXPECT_EQ(early_responses(up.id()), early_before + 2);
  auto ok = get_once(port, "/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), "ok");
}

// Full duplex: an upstream that answers a 40 MiB upload with a 40 MiB response echoing the body
// as it reads it. The client sends the second half of its body only once it has received the
// first MiB of the response through the edge — an edge that read the response only after the
// whole upload would leave both sides waiting (the bounded waits fail the test). The response
// arrives whole, streamed, with Connection: close; the early answer is counted; nothing is left
// open.
TEST(EdgeStream, EarlyStreamedResponseFlowsWhileTheUploadGoesOn) {
  const std::string& body = big_body();
  scripted_upstream up([&](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    if (p.get().target() != "/echo-stream") return serve_common(p, s, buf);
    const auto length = p.content_length();
    if (!length) return false;
    write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(*length) + "\r\n\r\n");
    std::uint64_t echoed = 0;
    std::string piece(static_cast<const char*>(buf.data().data()), buf.size());
    buf.consume(buf.size());
    for (;;) {
      write_all(s, piece);
      echoed += piece.size();
      if (echoed >= *length) break;
      piece.clear();
      beast::error_code ec;
      read_some_into(s, piece, ec);
      if (ec) return false;
    }
    return true;
  });
  auto o = one_region(up.port());
  o.upstream_timeout = std::chrono::seconds(30);
  proxy px(o);
  ASSERT_TRUE(px.start());
  const auto port = px.ports()[0];
  const double early_before = early_responses(up.id());
  {
    raw_client c(port);
    latch_signal got_first_part;
    std::atomic<bool> sent_after_first_part{false};
    std::thread writer([&] {
      beast::error_code ec;
      const std::string head = upload_head("/echo-stream", body.size(), false);
      asio::write(c.s, asio::buffer(head), ec);
      const std::size_t half = body.size() / 2;
      asio::write(c.s, asio::buffer(body.data(), half), ec);
      sent_after_first_part = got_first_part.wait();
      asio::write(c.s, asio::buffer(body.data() + half, body.size() - half), ec);
    });
    // Raw reads: the head, then the body as it comes.
    std::string got;
    std::size_t body_at = std::string::npos;
    beast::error_code ec;
    const bool read_in_time = within(c, std::chrono::seconds(60), [&] {
      while (body_at == std::string::npos || got.size() - body_at < body.size()) {
        const std::size_t n = read_some_into(c.s, got, ec);
        if (ec) break;
        if (n > 0 && body_at == std::string::npos) {
          if (const auto end = got.find("\r\n\r\n"); end != std::string::npos) body_at = end + 4;
        }
        if (body_at != std::string::npos && got.size() - body_at >= MiB) got_first_part.set();
      }
    });
    got_first_part.set();  // the writer ends in any case
    writer.join();
    ASSERT_TRUE(read_in_time);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(sent_after_first_part)
        << "the response did not reach the client while the upload was going";
    ASSERT_NE(body_at, std::string::npos);
    const std::string head = got.substr(0, body_at);
    EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
    EXPECT_NE(head.find("Content-Length: " + std::to_string(body.size()) + "\r\n"),
              std::string::npos)
        << head;
    EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos) << head;
    got.erase(0, body_at);
    EXPECT_EQ(got.size(), body.size());
    EXPECT_EQ(fnv1a(got), fnv1a(body));
    bool closed = false;
    EXPECT_TRUE(within(c, std::chrono::seconds(15), [&] { closed = c.closed(); }));
    EXPECT_TRUE(closed);
  }
  EXPECT_TRUE(eventually([&] { return active_connections(port) == 0; }));
  EXPECT_EQ(early_responses(up.id()), early_before + 1);
  auto ok = get_once(port, "/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), "ok");
}

// Interim responses during a streamed upload are still dropped, and are no early answer: an
// upstream that sends 100 Continue and 103 Early Hints as soon as it has the head, then reads the
// whole 40 MiB body and answers, gets the body whole; the client gets the final response only,
// kept alive, and nothing is counted as an early answer.
TEST(EdgeStream, InterimResponsesDuringAnUploadAreDropped) {
  scripted_upstream up([](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    if (p.get().target() != "/interim-echo") return serve_common(p, s, buf);
    write_all(s, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n");
    beast::error_code ec;
    bhttp::read(s, buf, p, ec);
    if (ec) return false;
    const auto& body = p.get().body();
    const std::string answer = std::to_string(body.size()) + " " + std::to_string(fnv1a(body));
    write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(answer.size()) +
                     "\r\n\r\n" + answer);
    return true;
  });
  auto o = one_region(up.port());
  proxy px(o);
  ASSERT_TRUE(px.start());
  const auto port = px.ports()[0];
  const double early_before = early_responses(up.id());
  const std::string& body = big_body();
  raw_client c(port);
  std::thread writer([&] {
    c.send(upload_head("/interim-echo", body.size(), false));
    c.send(body);
  });
  response r;
  beast::error_code ec;
  const bool answered = within(c, std::chrono::seconds(60), [&] { r = c.read(ec); });
  writer.join();
  ASSERT_TRUE(answered);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), std::to_string(body.size()) + " " + std::to_string(fnv1a(body)));
  EXPECT_TRUE(r.keep_alive());
  EXPECT_EQ(early_responses(up.id()), early_before);
  c.send(get_request("/ok"));
  auto again = c.read(ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(again.body(), "ok");
}

// After an early answer the edge closes the client connection gracefully (a lingering close): it
// half-closes it and discards what the client still sends, so a client that goes on sending its
// body for a while after the answer has its writes succeed (a plain close would reset the
// connection, and could destroy the answer); one that never stops is cut off once the linger
// time (2 s) has passed.
TEST(EdgeStream, EarlyAnswerIsFollowedByALingeringClose) {
  latch_signal done;
  scripted_upstream up([&](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    if (p.get().target() != "/refuse") return serve_common(p, s, buf);
    write_all(s, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\n\r\ntoo large");
    done.wait();  // neither reads nor closes
    return false;
  });
  auto o = one_region(up.port());
  o.upstream_timeout = std::chrono::seconds(30);
  proxy px(o);
  ASSERT_TRUE(px.start());
  const auto port = px.ports()[0];
  {
    raw_client c(port);
    c.send(upload_head("/refuse", big_body().size(), false));
    c.send(std::string_view(big_body()).substr(0, 64 * 1024));
    response r;
    beast::error_code ec;
    ASSERT_TRUE(within(c, std::chrono::seconds(15), [&] { r = c.read(ec); }));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.result_int(), 413);
    EXPECT_FALSE(r.keep_alive());
    // 4 MiB more after the answer: taken and discarded.
    beast::error_code wec;
    ASSERT_TRUE(within(c, std::chrono::seconds(15), [&] {
      asio::write(c.s, asio::buffer(big_body().data() + 64 * 1024, 4 * MiB), wec);
    }));
    EXPECT_FALSE(wec) << wec.message();
    // A client that never stops: its writes fail once the edge closed (bounded by the linger
    // time; 20 ms pauses, so the test does not spin).
    ASSERT_TRUE(within(c, std::chrono::seconds(15), [&] {
      for (std::size_t at = 0; !wec; at = (at + 64 * 1024) % (32 * MiB)) {
        asio::write(c.s, asio::buffer(big_body().data() + at, 64 * 1024), wec);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }));
    EXPECT_TRUE(wec);
  }
  done.set();
  EXPECT_TRUE(eventually([&] { return active_connections(port) == 0; }));
}

// An upstream that sends a malformed response, or a 101, while the body still goes: the client
// gets 502 at once (no early answer: nothing is passed on), with the connection closed.
TEST(EdgeStream, MalformedResponseDuringAnUploadIs502AtOnce) {
  latch_signal done;
  scripted_upstream up([&](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    const std::string target(p.get().target());
    if (target == "/garbage") {
      write_all(s, "NOT HTTP AT ALL\r\n\r\n");
    } else if (target == "/switch") {
      write_all(s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n");
    } else {
      return serve_common(p, s, buf);
    }
    done.wait();  // neither reads nor closes
    return false;
  });
  auto o = one_region(up.port());
  o.upstream_timeout = std::chrono::seconds(30);
  proxy px(o);
  ASSERT_TRUE(px.start());
  const auto port = px.ports()[0];
  const double early_before = early_responses(up.id());
  for (const std::string target : {"/garbage", "/switch"}) {
    SCOPED_TRACE(target);
    raw_client c(port);
    early_uploader writer(c, upload_head(target, big_body().size(), false), big_body(), false);
    response r;
    beast::error_code ec;
    ASSERT_TRUE(within(c, std::chrono::seconds(15), [&] { r = c.read(ec); }));
    writer.answered();
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.result_int(), 502);
    EXPECT_FALSE(r.keep_alive());
    EXPECT_TRUE(writer.finish());
  }
  done.set();
  EXPECT_TRUE(eventually([&] { return active_connections(port) == 0; }));
  EXPECT_EQ(early_responses(up.id()), early_before);
}

// The proxy stops in the middle of an early answer — a streamed response going to the client
// while the upload still goes — and ends cleanly (the sanitizers check that nothing is used
// after it is gone): the client connection is closed.
TEST(EdgeStream, StopDuringAnEarlyAnswerEndsCleanly) {
  latch_signal done;
  scripted_upstream up([&](auto& p, tcp::socket& s, beast::flat_buffer& buf) {
    if (p.get().target() != "/half") return serve_common(p, s, buf);
    write_all(
        s, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big_body().size()) + "\r\n\r\n");
    write_all(s, std::string_view(big_body()).substr(0, MiB));
    done.wait();  // then holds: neither reads nor sends
    return false;
  });
  auto px = std::make_unique<proxy>(one_region(up.port()));
  ASSERT_TRUE(px->start());
  const auto port = px->ports()[0];
  raw_client c(port);
  early_uploader writer(c, upload_head("/half", big_body().size(), false), big_body(), false);
  std::string got;
  beast::error_code ec;
  ASSERT_TRUE(within(c, std::chrono::seconds(15), [&] {
    while (got.size() < MiB && !ec) read_some_into(c.s, got, ec);
  }));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n"));
  px->stop();
  px.reset();
  EXPECT_TRUE(within(c, std::chrono::seconds(15), [&] {
    while (!ec) read_some_into(c.s, got, ec);
  }));
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  writer.answered();
  EXPECT_TRUE(writer.finish());
  done.set();
}
