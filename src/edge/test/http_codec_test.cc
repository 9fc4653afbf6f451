// The streaming request/response rewriters: what the upstream and the client get (checked by
// parsing the output with Beast's own parser), and that they accept and reject exactly what
// beast::http::parser does.
#include "proxy/http_codec.h"

#include <gtest/gtest.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>

namespace mysfits::edge {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;

// Puts all of `input` into `p` (eager), then EOF if the message wants it.
template <class Parser>
beast::error_code feed(Parser& p, std::string_view input, bool eof = false) {
  p.eager(true);
  beast::error_code ec;
  while (!input.empty() && !p.is_done()) {
    auto used = p.put(boost::asio::buffer(input.data(), input.size()), ec);
    input.remove_prefix(used);
    if (ec == bhttp::error::need_more && !eof) return ec;
    if (ec && ec != bhttp::error::need_more) return ec;
    if (used == 0) break;
  }
  if (eof && !p.is_done()) p.put_eof(ec);
  return ec;
}

bhttp::request<bhttp::string_body> parse_request(const std::string& bytes) {
  bhttp::request_parser<bhttp::string_body> p;
  EXPECT_FALSE(feed(p, bytes)) << bytes;
  EXPECT_TRUE(p.is_done()) << bytes;
  return p.release();
}

bhttp::response<bhttp::string_body> parse_response(const std::string& bytes, bool head = false) {
  bhttp::response_parser<bhttp::string_body> p;
  p.skip(head);
  EXPECT_FALSE(feed(p, bytes)) << bytes;
  EXPECT_TRUE(p.is_done()) << bytes;
  return p.release();
}

struct rewritten_request {
  std::string head, body;
};

rewritten_request rewrite(const std::string& in, const std::string& client_ip = "203.0.113.7",
                          std::uint16_t port = 8080) {
  rewritten_request r;
  upstream_request_parser p(r.head, r.body);
  EXPECT_FALSE(feed(p, in)) << in;
  EXPECT_TRUE(p.is_done());
  p.finish(client_ip, port);
  return r;
}

TEST(UpstreamRequest, StripsHopByHopAndAddsForwardingHeaders) {
  const std::string in =
      "GET /mysfits/1?x=y HTTP/1.1\r\nHost: edge\r\nConnection: keep-alive, TE\r\nTE: trailers\r\n"
      "Keep-Alive: 5\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nX-Forwarded-For: 198.51.100.1\r\n"
      "X-Forwarded-Proto: https\r\nX-Forwarded-Port: 1\r\nAccept: */*\r\n\r\n";
  std::string head, body;
  upstream_request_parser p(head, body);
  ASSERT_FALSE(feed(p, in));
  EXPECT_EQ(p.method(), bhttp::verb::get);
  EXPECT_EQ(p.target(), "/mysfits/1?x=y");
  EXPECT_EQ(p.version(), 11u);
  EXPECT_TRUE(p.keep_alive());
  EXPECT_FALSE(p.has_idempotency_key());
  p.finish("203.0.113.7", 8080);
  EXPECT_EQ(p.target(), "/mysfits/1?x=y");
  auto req = parse_request(head + body);
  EXPECT_EQ(req.method(), bhttp::verb::get);
  EXPECT_EQ(req.target(), "/mysfits/1?x=y");
  EXPECT_EQ(req.version(), 11);
  EXPECT_EQ(req[bhttp::field::host], "edge");
  EXPECT_EQ(req[bhttp::field::accept], "*/*");
  for (auto f : {bhttp::field::connection, bhttp::field::te, bhttp::field::keep_alive,
                 bhttp::field::proxy_connection, bhttp::field::upgrade,
                 bhttp::field::content_length, bhttp::field::transfer_encoding}) {
    EXPECT_EQ(req.count(f), 0u) << f;
  }
  EXPECT_EQ(req.count("X-Forwarded-For"), 1u);
  EXPECT_EQ(req["X-Forwarded-For"], "198.51.100.1, 203.0.113.7");
  EXPECT_EQ(req["X-Forwarded-Proto"], "http");
  EXPECT_EQ(req["X-Forwarded-Port"], "8080");
  EXPECT_TRUE(req.keep_alive());
}

TEST(UpstreamRequest, DechunksBodyWithContentLength) {
  auto r = rewrite(
      "POST /mysfits/1/like HTTP/1.1\r\nHost: edge\r\nTransfer-Encoding: chunked\r\n"
      "Idempotency-Key: like-1\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(r.body, "hello world");
  auto req = parse_request(r.head + r.body);
  EXPECT_EQ(req[bhttp::field::content_length], "11");
  EXPECT_EQ(req.count(bhttp::field::transfer_encoding), 0u);
  EXPECT_EQ(req.body(), "hello world");
  EXPECT_EQ(req["Idempotency-Key"], "like-1");
  EXPECT_EQ(req["X-Forwarded-For"], "203.0.113.7");
}

TEST(UpstreamRequest, ContentLengthAsBeastPreparePayload) {
  // A body: its length. No body: none for GET, 0 for the methods that carry one, and a 0 the
  // client sent stays.
  auto post =
      parse_request(rewrite("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").head + "abc");
  EXPECT_EQ(post[bhttp::field::content_length], "3");
  auto empty_post = parse_request(rewrite("POST / HTTP/1.1\r\n\r\n").head);
  EXPECT_EQ(empty_post[bhttp::field::content_length], "0");
  auto get = parse_request(rewrite("GET / HTTP/1.1\r\n\r\n").head);
  EXPECT_EQ(get.count(bhttp::field::content_length), 0u);
  auto get0 = parse_request(rewrite("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").head);
  EXPECT_EQ(get0[bhttp::field::content_length], "0");
}

TEST(UpstreamRequest, ExpectContinueIsAnsweredByTheProxyNotForwarded) {
  std::string head, body;
  upstream_request_parser p(head, body);
  const std::string in =
      "PUT /x HTTP/1.1\r\nHost: edge\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_FALSE(feed(p, in));  // the header, and no body yet
  EXPECT_TRUE(p.is_header_done());
  EXPECT_FALSE(p.is_done());
  EXPECT_TRUE(p.expects_continue());
  ASSERT_FALSE(feed(p, "ok"));
  p.finish("127.0.0.1", 80);
  auto req = parse_request(head + body);
  EXPECT_EQ(req.count(bhttp::field::expect), 0u);
  EXPECT_EQ(req.body(), "ok");
}

TEST(UpstreamRequest, Http10KeepAliveOnlyWhenAsked) {
  std::string head, body;
  upstream_request_parser p(head, body);
  ASSERT_FALSE(feed(p, "GET / HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(p.version(), 10u);
  EXPECT_FALSE(p.keep_alive());
  upstream_request_parser q(head, body);
  ASSERT_FALSE(feed(q, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_TRUE(q.keep_alive());
  q.finish("127.0.0.1", 80);
  EXPECT_EQ(parse_request(head).version(), 11);  // the upstream always gets HTTP/1.1
}

// The same verdict as Beast's message parser, input by input.
TEST(UpstreamRequest, AcceptsAndRejectsLikeBeast) {
  const std::string inputs[] = {
      "NOT HTTP AT ALL\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
      "GET / HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /\x01 HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
      "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
  };
  for (const auto& in : inputs) {
    bhttp::request_parser<bhttp::string_body> beast_p;
    beast_p.header_limit(1024);
    beast_p.body_limit(1024);
    std::string head, body;
    upstream_request_parser ours(head, body);
    ours.header_limit(1024);
    ours.body_limit(1024);
    auto a = feed(beast_p, in);
    auto b = feed(ours, in);
    EXPECT_EQ(a, b) << in;
    EXPECT_EQ(beast_p.is_done(), ours.is_done()) << in;
  }
}

std::string respond(const std::string& in, unsigned client_version, bool head_request,
                    bool keep_alive, bool eof = false, unsigned* status = nullptr,
                    bool* upstream_keep_alive = nullptr) {
  std::string head, body;
  downstream_response_parser p(head, body, client_version, head_request);
  EXPECT_FALSE(feed(p, in, eof)) << in;
  EXPECT_TRUE(p.is_done()) << in;
  p.finish(keep_alive);
  if (status) *status = p.status();
  if (upstream_keep_alive) *upstream_keep_alive = p.keep_alive();
  return head + body;
}

TEST(DownstreamResponse, StripsHopByHopAndSetsConnectionForTheClient) {
  const std::string in =
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n"
      "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nmysfits\n";
  unsigned status = 0;
  bool upstream_keep_alive = false;
  auto kept = parse_response(respond(in, 11, false, true, false, &status, &upstream_keep_alive));
  EXPECT_EQ(status, 200u);
  EXPECT_TRUE(upstream_keep_alive);
  EXPECT_EQ(kept.result_int(), 200);
  EXPECT_EQ(kept.reason(), "OK");
  EXPECT_EQ(kept[bhttp::field::server], "nginx");
  EXPECT_EQ(kept[bhttp::field::content_length], "8");
  EXPECT_EQ(kept.count(bhttp::field::connection), 0u);
  EXPECT_EQ(kept.count(bhttp::field::keep_alive), 0u);
  EXPECT_EQ(kept.body(), "mysfits\n");
  EXPECT_TRUE(kept.keep_alive());

  auto closed = parse_response(respond(in, 11, false, false));
  EXPECT_FALSE(closed.keep_alive());
  EXPECT_EQ(closed[bhttp::field::connection], "close");

  auto old = parse_response(respond(in, 10, false, true));
  EXPECT_EQ(old.version(), 10);
  EXPECT_TRUE(old.keep_alive());
  EXPECT_EQ(old.body(), "mysfits\n");
}

TEST(DownstreamResponse, DechunksBody) {
  auto r = parse_response(respond(
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      11, false, true));
  EXPECT_EQ(r.result_int(), 201);
  EXPECT_EQ(r.count(bhttp::field::transfer_encoding), 0u);
  EXPECT_EQ(r[bhttp::field::content_length], "5");
  EXPECT_EQ(r.body(), "abcde");
}

TEST(DownstreamResponse, HeadAnd304KeepTheirContentLength204HasNone) {
  auto head = respond("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 11, true, true);
  EXPECT_NE(head.find("Content-Length: 1234\r\n"), std::string::npos) << head;
  auto parsed = parse_response(head, true);
  EXPECT_EQ(parsed[bhttp::field::content_length], "1234");
  auto not_modified =
      respond("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", 11, false, true);
  EXPECT_NE(not_modified.find("Content-Length: 99\r\n"), std::string::npos) << not_modified;
  auto no_content =
      respond("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", 11, false, true);
  EXPECT_EQ(no_content.find("Content-Length"), std::string::npos) << no_content;
}

TEST(DownstreamResponse, BodyUntilEofIsNotKeptAlive) {
  bool upstream_keep_alive = true;
  auto r = parse_response(respond("HTTP/1.0 200 OK\r\n\r\nuntil the end", 11, false, true, true,
                                  nullptr, &upstream_keep_alive));
  EXPECT_FALSE(upstream_keep_alive);
  EXPECT_EQ(r.body(), "until the end");
  EXPECT_EQ(r[bhttp::field::content_length], "13");
}

// The heads of streamed bodies (finish_streamed, once the header is parsed): the length as
// received, or chunked; to an HTTP/1.0 client, no length when the upstream sent none.
TEST(StreamedHead, RequestKeepsItsLengthOrIsChunked) {
  for (const std::string framing : {"Content-Length: 100000", "Transfer-Encoding: chunked"}) {
    std::string head, body;
    upstream_request_parser p(head, body);
    p.header_limit(16 * 1024);
    EXPECT_FALSE(feed(
        p, "POST /up HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n" + framing + "\r\n\r\n"));
    EXPECT_FALSE(p.is_done());
    ASSERT_TRUE(p.is_header_done());
    p.finish_streamed("203.0.113.7", 8080);
    ASSERT_TRUE(head.ends_with("\r\n\r\n")) << head;
    bhttp::request_parser<bhttp::empty_body> check;
    check.body_limit(boost::none);
    EXPECT_FALSE(feed(check, head)) << head;
    EXPECT_FALSE(check.is_done()) << head;  // a body follows
    ASSERT_TRUE(check.is_header_done());
    const auto& req = check.get();
    EXPECT_EQ(req[bhttp::field::connection], "");
    EXPECT_EQ(req["X-Forwarded-For"], "203.0.113.7");
    if (framing.starts_with("Content")) {
      EXPECT_EQ(req[bhttp::field::content_length], "100000");
      EXPECT_FALSE(check.chunked());
    } else {
      EXPECT_TRUE(check.chunked());
      EXPECT_EQ(req.count(bhttp::field::content_length), 0u);
    }
  }
}

TEST(StreamedHead, ResponseKeepsItsLengthOrIsChunkedFor11AndUnframedFor10) {
  struct {
    std::string in;
    unsigned client;
    bool keep_alive;
    std::string expect;  // the framing field, or "" for none
  } cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", 11, true, "Content-Length: 100000\r\n"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", 10, true, "Content-Length: 100000\r\n"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 11, true,
       "Transfer-Encoding: chunked\r\n"},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 11, true, "Transfer-Encoding: chunked\r\n"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 10, false, ""},
  };
  for (const auto& c : cases) {
    std::string head, body;
    downstream_response_parser p(head, body, c.client, false);
    p.header_limit(16 * 1024);
    EXPECT_FALSE(feed(p, c.in)) << c.in;
    EXPECT_FALSE(p.is_done());
    ASSERT_TRUE(p.is_header_done());
    p.finish_streamed(c.keep_alive);
    SCOPED_TRACE(head);
    EXPECT_TRUE(head.starts_with(c.client == 11 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.0 200 OK\r\n"));
    EXPECT_TRUE(head.ends_with("\r\n\r\n"));
    if (c.expect.empty()) {
      EXPECT_EQ(head.find("Content-Length"), std::string::npos);
      EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos);
    } else {
      EXPECT_NE(head.find(c.expect), std::string::npos);
      // Only the one framing field.
      const auto other = c.expect.starts_with("Content") ? "Transfer-Encoding" : "Content-Length";
      EXPECT_EQ(head.find(other), std::string::npos);
    }
    EXPECT_EQ(head.find("Connection: close"), std::string::npos);
    if (c.client == 10) {
      EXPECT_EQ(head.find("Connection: keep-alive") != std::string::npos, c.keep_alive);
    }
  }
}

TEST(ErrorResponse, IsCompleteHttp) {
  std::string head, body;
  write_error_response(head, body, 503, "no healthy target in group core", 11, false);
  auto r = parse_response(head + body);
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(r.body(), "503 Service Unavailable: no healthy target in group core\n");
  EXPECT_EQ(r[bhttp::field::content_type], "text/plain");
  EXPECT_EQ(r[bhttp::field::server], "mysfits-edge");
  EXPECT_FALSE(r.keep_alive());
  write_error_response(head, body, 502, "x", 10, true);
  auto old = parse_response(head + body);
  EXPECT_EQ(old.version(), 10);
  EXPECT_TRUE(old.keep_alive());
}

// The fast path takes a whole simple message and writes exactly what Beast's path writes.
TEST(FastPath, TakesSimpleMessagesLikeBeast) {
  const std::string requests[] = {
      "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
      "GET /mysfits?x=1 HTTP/1.0\r\nConnection: keep-alive\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
      "POST /mysfits/1/like HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nIdempotency-Key: k\r\n"
      "Connection: close\r\n\r\n{}",
      "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\nTE: trailers\r\n\r\n",
  };
  for (const auto& in : requests) {
    std::string fh, fb, sh, sb;
    upstream_request_parser fast(fh, fb), slow(sh, sb);
    fast.set_limits(16 * 1024, 1024);
    ASSERT_EQ(fast.parse_whole(in.data(), in.size()), in.size()) << in;
    EXPECT_TRUE(fast.is_done());
    ASSERT_FALSE(feed(slow, in)) << in;
    EXPECT_EQ(fast.keep_alive(), slow.keep_alive()) << in;
    EXPECT_EQ(fast.method(), slow.method()) << in;
    EXPECT_EQ(fast.has_idempotency_key(), slow.has_idempotency_key()) << in;
    fast.finish("203.0.113.7", 80);
    slow.finish("203.0.113.7", 80);
    EXPECT_EQ(fh, sh) << in;
    EXPECT_EQ(fb, sb) << in;
  }
  const std::string responses[] = {
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 29 Nov 2026 05:00:00 GMT\r\n"
      "Content-Type: application/octet-stream\r\nContent-Length: 8\r\nConnection: keep-alive\r\n"
      "\r\nmysfits\n",
      "HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: close\r\n\r\nnop",
  };
  for (const auto& in : responses) {
    for (unsigned version : {10u, 11u}) {
      std::string fh, fb, sh, sb;
      downstream_response_parser fast(fh, fb, version, false), slow(sh, sb, version, false);
      fast.set_limits(16 * 1024, 1024);
      ASSERT_EQ(fast.parse_whole(in.data(), in.size()), in.size()) << in;
      ASSERT_FALSE(feed(slow, in)) << in;
      EXPECT_EQ(fast.keep_alive(), slow.keep_alive()) << in;
      EXPECT_EQ(fast.status(), slow.status());
      fast.finish(true);
      slow.finish(true);
      EXPECT_EQ(fh, sh) << in;
      EXPECT_EQ(fb, sb) << in;
    }
  }
}

// Anything unusual, or not all there yet, is left to Beast: nothing consumed, nothing written.
TEST(FastPath, LeavesEverythingElseToBeast) {
  const std::string requests[] = {
      "GET / HTTP/1.1\r\nHost: a\r\n",                                   // header not complete
      "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",                  // body not complete
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",  // chunked
      "GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n",                          // obs-fold
      "GET / HTTP/1.1\r\nX-A: caf\xc3\xa9\r\n\r\n",                      // obs-text
      "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
      "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
      "GET / HTTP/1.1\r\nX-Empty:\r\n\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      "NOT HTTP AT ALL\r\n\r\n",
      "\r\nGET / HTTP/1.1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n",  // over the body limit
  };
  for (const auto& in : requests) {
    std::string head, body;
    upstream_request_parser p(head, body);
    p.set_limits(16 * 1024, 1024);
    EXPECT_EQ(p.parse_whole(in.data(), in.size()), 0u) << in;
    EXPECT_TRUE(head.empty() && body.empty()) << in;
    EXPECT_FALSE(p.got_some());
    // Beast still gets all of it (an error or need_more is Beast's to say).
    (void)feed(p, in);
    EXPECT_TRUE(p.got_some()) << in;
  }
  const std::string responses[] = {
      "HTTP/1.1 200 OK\r\n\r\nuntil eof",                                // no length
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",  // chunked
      "HTTP/1.1 204 No Content\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
  };
  for (const auto& in : responses) {
    std::string head, body;
    downstream_response_parser p(head, body, 11, false);
    p.set_limits(16 * 1024, 1024);
    EXPECT_EQ(p.parse_whole(in.data(), in.size()), 0u) << in;
    EXPECT_TRUE(head.empty() && body.empty()) << in;
  }
  // A HEAD request's response, and a parser without limits set, never take it.
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  std::string head, body;
  downstream_response_parser for_head(head, body, 11, true);
  for_head.set_limits(16 * 1024, 1024);
  EXPECT_EQ(for_head.parse_whole(ok.data(), ok.size()), 0u);
  downstream_response_parser no_limits(head, body, 11, false);
  EXPECT_EQ(no_limits.parse_whole(ok.data(), ok.size()), 0u);
}

// X-Edge-Deadline is taken out of the forwarded request (the session writes it again per
// attempt); the earliest of several values counts, so a later one cannot extend it; a malformed
// one is flagged. The fast path and Beast's parser agree.
TEST(UpstreamRequest, DeadlineIsTakenOutAndTheEarliestKept) {
  struct tc {
    std::string fields;
    std::int64_t deadline;
    bool malformed;
  };
  const tc cases[] = {
      {"", 0, false},
      {"X-Edge-Deadline: 1764400000123\r\n", 1764400000123, false},
      {"x-edge-deadline: 1764400000123\r\nX-Edge-Deadline: 1764400000100\r\n", 1764400000100,
       false},
      {"X-Edge-Deadline: 1764400000100\r\nX-Edge-Deadline: 99999999999999\r\n", 1764400000100,
       false},
      {"X-Edge-Deadline: soon\r\n", 0, true},
      {"X-Edge-Deadline: -5\r\n", 0, true},
      {"X-Edge-Deadline: 12345678901234567\r\n", 0, true},
  };
  for (const auto& c : cases) {
    const std::string in = "POST /mysfits/1/like HTTP/1.1\r\nHost: a\r\n" + c.fields +
                           "Idempotency-Key: k\r\nContent-Length: 2\r\n\r\n{}";
    std::string fh, fb, sh, sb;
    upstream_request_parser fast(fh, fb), slow(sh, sb);
    fast.set_limits(16 * 1024, 1024);
    ASSERT_EQ(fast.parse_whole(in.data(), in.size()), in.size()) << in;
    ASSERT_FALSE(feed(slow, in)) << in;
    for (auto* p : {&fast, &slow}) {
      EXPECT_EQ(p->deadline_ms(), c.deadline) << in;
      EXPECT_EQ(p->deadline_malformed(), c.malformed) << in;
      EXPECT_TRUE(p->has_idempotency_key()) << in;
      p->finish("203.0.113.7", 80);
    }
    EXPECT_EQ(fh, sh) << in;
    auto req = parse_request(fh + fb);
    EXPECT_EQ(req.count("X-Edge-Deadline"), 0u) << in;
    EXPECT_EQ(req["Idempotency-Key"], "k");
  }
}

// Request smuggling: a body framed by anything but chunked (or Content-Length) is refused, not
// read as length 0 with its bytes taken for the next request — a Transfer-Encoding whose last
// coding is not chunked (RFC 9112 §6.3: 400), one with codings before chunked the proxy cannot
// undo (flagged for 501), two Transfer-Encoding lines, and any in HTTP/1.0. Content-Length with
// Transfer-Encoding stays refused (Beast).
TEST(UpstreamRequest, RefusesTransferCodingsOtherThanChunked) {
  struct refused {
    std::string in;
    bool unsupported_coding;
  };
  const refused cases[] = {
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n", false},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", false},
      {"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", false},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", true},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\nabc\r\n0\r\n\r\n",
       false},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false},
      {"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       false},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
       false},
  };
  for (const auto& c : cases) {
    std::string head, body;
    upstream_request_parser p(head, body);
    p.set_limits(16 * 1024, 1024);
    EXPECT_EQ(p.parse_whole(c.in.data(), c.in.size()), 0u) << c.in;
    auto ec = feed(p, c.in);
    EXPECT_TRUE(ec && ec != bhttp::error::need_more) << c.in;
    EXPECT_FALSE(p.is_done()) << c.in;
    EXPECT_EQ(p.unsupported_coding(), c.unsupported_coding) << c.in;
  }
  // chunked alone, in any case, with white space around it, is decoded.
  for (std::string te : {"chunked", "CHUNKED", " chunked "}) {
    auto r =
        rewrite("POST / HTTP/1.1\r\nTransfer-Encoding:" + te + "\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    EXPECT_EQ(parse_request(r.head + r.body).body(), "abc") << te;
  }
}

// Two Host fields are ambiguous (RFC 9112 §3.2): 400 on both parse paths.
TEST(UpstreamRequest, RefusesASecondHost) {
  for (std::string in : {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                         "GET / HTTP/1.1\r\nhost: a\r\nX-Hos: c\r\nHOST: b\r\n\r\n"}) {
    std::string head, body;
    upstream_request_parser p(head, body);
    p.set_limits(16 * 1024, 1024);
    EXPECT_EQ(p.parse_whole(in.data(), in.size()), 0u) << in;
    auto ec = feed(p, in);
    EXPECT_EQ(ec, bhttp::error::bad_value) << in;
  }
  // Four-letter fields that are not Host, next to one, take the fast path.
  const std::string date = "GET / HTTP/1.1\r\nDate: x\r\nHost: a\r\nHosT-: y\r\n\r\n";
  std::string head, body;
  upstream_request_parser fast(head, body);
  fast.set_limits(16 * 1024, 1024);
  EXPECT_EQ(fast.parse_whole(date.data(), date.size()), date.size());
  auto one = parse_request(rewrite("GET / HTTP/1.1\r\nHost: a\r\n\r\n").head);
  EXPECT_EQ(one[bhttp::field::host], "a");
}

// Trailer fields of a chunked body are dropped, not merged into the forwarded header (a
// trailer `Host` must not become a second Host upstream), on requests and responses.
TEST(UpstreamRequest, DropsTrailerFields) {
  auto r = rewrite(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\n"
      "Host: evil\r\nX-Trailer: t\r\n\r\n");
  auto req = parse_request(r.head + r.body);
  EXPECT_EQ(req.count(bhttp::field::host), 1u);
  EXPECT_EQ(req[bhttp::field::host], "a");
  EXPECT_EQ(req.count("X-Trailer"), 0u);
  EXPECT_EQ(req.body(), "abc");

  auto res =
      parse_response(respond("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                             "chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n",
                             11, false, true));
  EXPECT_EQ(res.count("X-Trailer"), 0u);
  EXPECT_EQ(res.body(), "hello");
}

// The fields a Connection field names are connection-specific too (RFC 9110 §7.6.1): removed
// wherever they stand, in requests and responses, on the slow path (the fast path leaves such
// messages to it) — except Host. A listed X-Forwarded-For drops the client's value only.
TEST(UpstreamRequest, RemovesFieldsTheConnectionFieldNames) {
  const std::string in =
      "GET / HTTP/1.1\r\nX-Before: 1\r\nHost: a\r\nConnection: keep-alive, X-Before, x-after, "
      "Host, X-Forwarded-For\r\nX-Forwarded-For: 198.51.100.1\r\nX-After: 2\r\nX-Kept: 3\r\n\r\n";
  std::string head, body;
  upstream_request_parser fast(head, body);
  fast.set_limits(16 * 1024, 1024);
  EXPECT_EQ(fast.parse_whole(in.data(), in.size()), 0u);
  auto req = parse_request(rewrite(in).head);
  EXPECT_EQ(req.count("X-Before"), 0u);
  EXPECT_EQ(req.count("X-After"), 0u);
  EXPECT_EQ(req["X-Kept"], "3");
  EXPECT_EQ(req[bhttp::field::host], "a");
  EXPECT_EQ(req["X-Forwarded-For"], "203.0.113.7");
  EXPECT_TRUE(req.keep_alive());

  auto res = parse_response(respond(
      "HTTP/1.1 200 OK\r\nX-Secret: s\r\nConnection: X-Secret\r\nContent-Length: 1\r\n\r\nx", 11,
      false, true));
  EXPECT_EQ(res.count("X-Secret"), 0u);
  EXPECT_EQ(res.body(), "x");
}

// Several X-Forwarded-For lines are one list: all kept, in order, then the client address.
TEST(UpstreamRequest, JoinsXForwardedForLines) {
  auto req = parse_request(
      rewrite("GET / HTTP/1.1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.2, "
              "192.0.2.3\r\n\r\n")
          .head);
  EXPECT_EQ(req.count("X-Forwarded-For"), 1u);
  EXPECT_EQ(req["X-Forwarded-For"], "192.0.2.1, 192.0.2.2, 192.0.2.3, 203.0.113.7");
}

// An HTTP/1.0 client gets no 100 Continue (RFC 9110 §10.1.1); the field is still not forwarded.
TEST(UpstreamRequest, Http10ExpectationIsIgnored) {
  std::string head, body;
  upstream_request_parser p(head, body);
  EXPECT_FALSE(feed(p, "PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
  EXPECT_FALSE(p.expects_continue());
  ASSERT_FALSE(feed(p, "ok"));
  p.finish("127.0.0.1", 80);
  EXPECT_EQ(parse_request(head + body).count(bhttp::field::expect), 0u);
}

// A response in a transfer coding other than chunked cannot be passed on (the client would get
// coded bytes without the field that says so): an error, which the session answers with 502.
TEST(DownstreamResponse, RefusesTransferCodingsOtherThanChunked) {
  for (std::string in :
       {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\ncoded"}) {
    std::string head, body;
    downstream_response_parser p(head, body, 11, false);
    auto ec = feed(p, in, true);
    EXPECT_EQ(ec, bhttp::error::bad_transfer_encoding) << in;
  }
}

// Rules match the path: of an origin-form target up to the query, and of an absolute-form one
// (so writing the target in full does not sidestep a rule).
TEST(RoutingPath, OriginAndAbsoluteForm) {
  EXPECT_EQ(routing_path("/mysfits/1/like?x=1"), "/mysfits/1/like");
  EXPECT_EQ(routing_path("/a#f"), "/a");
  EXPECT_EQ(routing_path("http://edge.test/mysfits/1/like?x=1"), "/mysfits/1/like");
  EXPECT_EQ(routing_path("HTTPS://edge.test:8443/a/b"), "/a/b");
  EXPECT_EQ(routing_path("http://edge.test"), "/");
  EXPECT_EQ(routing_path("http://edge.test?q=/mysfits/1/like"), "/");
  EXPECT_EQ(routing_path("*"), "*");
  EXPECT_EQ(routing_path("edge.test:443"), "edge.test:443");  // authority-form (CONNECT)
}

TEST(Retry, OnlyIdempotentOrKeyed) {
  EXPECT_TRUE(is_retryable_request(bhttp::verb::get, false));
  EXPECT_TRUE(is_retryable_request(bhttp::verb::put, false));
  EXPECT_FALSE(is_retryable_request(bhttp::verb::post, false));
  EXPECT_TRUE(is_retryable_request(bhttp::verb::post, true));
  EXPECT_FALSE(is_retryable_request(bhttp::verb::patch, false));
}

}  // namespace
}  // namespace mysfits::edge
