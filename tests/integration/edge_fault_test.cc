// Integration tests of what bad input and bad upstreams get from mysfits-edge: 400 / 408 / 431
// for clients, 502 / 504 for upstreams, retries only when safe, and never a crash or a leaked
// connection (the proxy keeps serving afterwards and its active-connection gauge returns to 0).
#include <gtest/gtest.h>

#include <thread>

#include "edge_test_support.h"
#include "mysfits/common/metrics.h"

using namespace mysfits::edge;
using namespace mysfits::edge::testing;

namespace {

options one_region(const std::vector<std::uint16_t>& ports, health_check_config h = fast_health()) {
  auto o = accelerator_options({region("us-west-2", 100, ports, h)});
  o.request_timeout = std::chrono::milliseconds(300);
  o.upstream_timeout = std::chrono::milliseconds(300);
  return o;
}

double active_connections(std::uint16_t port) {
  return mysfits::metrics::default_registry()
      .get_gauge("edge_active_connections", "", {{"listener", "http:" + std::to_string(port)}})
      .value();
}

// Pooled connections the proxy closed for bytes the upstream sent unasked.
double unexpected_bytes_drops(const raw_upstream& upstream) {
  return mysfits::metrics::default_registry()
      .get_counter("edge_upstream_unexpected_bytes_total", "",
                   {{"group", "us-west-2"}, {"endpoint", upstream.id()}})
      .value();
}

}  // namespace

// Garbage instead of a request line gets 400 and the connection closes.
TEST(EdgeFaults, MalformedRequestGets400) {
  upstream west("west");
  proxy p(one_region({west.port()}));
  ASSERT_TRUE(p.start());
  client c(p.ports()[0]);
  auto r = c.raw("NOT HTTP AT ALL\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 400);
  EXPECT_FALSE(r->keep_alive());
  EXPECT_EQ(west.hits(), 0);
  auto bad_length =
      client(p.ports()[0]).raw("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n");
  ASSERT_TRUE(bad_length);
  EXPECT_EQ(bad_length->result_int(), 400);
}

// A header block over the limit gets 431.
TEST(EdgeFaults, OversizedHeadersGet431) {
  upstream west("west");
  auto o = one_region({west.port()});
  o.header_limit = 1024;
  proxy p(o);
  ASSERT_TRUE(p.start());
  client c(p.ports()[0]);
  auto r = c.raw("GET / HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 431);
}

// A client that starts a request and stalls gets 408; an idle keep-alive one is just closed.
TEST(EdgeFaults, SlowClientGets408) {
  upstream west("west");
  proxy p(one_region({west.port()}));
  ASSERT_TRUE(p.start());
  client c(p.ports()[0]);
  auto r = c.raw("GET / HTTP/1.1\r\nHost: x\r\n");  // headers never finish
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 408);
}

// An upstream that accepts and never answers gets 504 (not retried: it may be working on it).
TEST(EdgeFaults, SilentUpstreamGets504) {
  raw_upstream silent(raw_upstream::behaviour::silent);
  proxy p(one_region({silent.port()}, fast_health("TCP")));
  ASSERT_TRUE(p.start());
  auto r = get_once(p.ports()[0], "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 504);
}

// An upstream that closes half-way through a response gets 502.
TEST(EdgeFaults, HalfResponseGets502) {
  raw_upstream half(raw_upstream::behaviour::half_response);
  proxy p(one_region({half.port()}, fast_health("TCP")));
  ASSERT_TRUE(p.start());
  auto r = get_once(p.ports()[0], "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 502);
}

// A request cut before any response byte is retried on another endpoint if it is idempotent or
// carries an Idempotency-Key; a plain POST is not (it gets 502).
TEST(EdgeFaults, RetriesOnlySafeRequests) {
  raw_upstream cut(raw_upstream::behaviour::cut);
  upstream east("east");
  // The cutting endpoint's TCP health check passes, so it stays in rotation; a 100 % dial
  // sends every first attempt there.
  proxy p(accelerator_options({region("us-west-2", 100, {cut.port()}, fast_health("TCP")),
                               region("us-east-1", 100, {east.port()})}));
  ASSERT_TRUE(p.start());
  ASSERT_TRUE(eventually([&] {
    return target_health(p.control_port(), "us-west-2", cut.id()) == "healthy" &&
           target_health(p.control_port(), "us-east-1", east.id()) == "healthy";
  }));
  auto get = get_once(p.ports()[0], "/");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->result_int(), 200);
  EXPECT_EQ((*get)["X-Upstream"], "east");

  bhttp::request<bhttp::string_body> post{bhttp::verb::post, "/mysfits/1/like", 11};
  post.body() = "{}";
  auto plain = client(p.ports()[0]).send(post);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->result_int(), 502);

  post.set("Idempotency-Key", "like-1");
  auto keyed = client(p.ports()[0]).send(post);
  ASSERT_TRUE(keyed);
  EXPECT_EQ(keyed->result_int(), 200);
  EXPECT_EQ((*keyed)["X-Upstream"], "east");
}

// Interim responses (100, 103) before an upstream's final answer are skipped: the client gets
// the final response, and the connection, pooled again, answers the next request with that
// request's own response (taking a 1xx for the answer would leave the final one on the
// connection for whoever is next).
TEST(EdgeFaults, InterimResponsesAreSkippedAndAnswersStayInStep) {
  raw_upstream interim(raw_upstream::behaviour::interim);
  auto o = one_region({interim.port()}, fast_health("TCP"));
  o.upstream_timeout = std::chrono::seconds(10);
  proxy p(o);
  ASSERT_TRUE(p.start());
  client c(p.ports()[0]);
  for (std::string target : {"/first", "/second", "/third"}) {
    auto r = c.get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->result_int(), 200) << target;
    EXPECT_EQ(r->body(), "final " + target);
  }
}

// An upstream that sends a body after its answer to a HEAD (here one that looks like a whole
// response), late, when the connection is back in the pool: the next request does not take
// those bytes for its answer.
TEST(EdgeFaults, BodyAfterAHeadResponseIsNotTakenForTheNextAnswer) {
  raw_upstream upstream(raw_upstream::behaviour::head_body);
  auto o = one_region({upstream.port()}, fast_health("TCP"));
  o.threads = 1;  // one worker: one pool, so the GET is offered the HEAD's connection
  o.upstream_timeout = std::chrono::seconds(10);
  proxy p(o);
  ASSERT_TRUE(p.start());
  client c(p.ports()[0]);
  bhttp::request<bhttp::string_body> head{bhttp::verb::head, "/first", 11};
  head.set(bhttp::field::host, "edge.test");
  // Beast's client reads no body after a HEAD response.
  bhttp::write(c.stream(), head);
  bhttp::response_parser<bhttp::string_body> hp;
  hp.skip(true);
  boost::beast::flat_buffer buf;
  bhttp::read(c.stream(), buf, hp);
  EXPECT_EQ(hp.get().result_int(), 200);
  // Once the late body is on the idle connection, the next request.
  ASSERT_TRUE(eventually([&] { return upstream.unasked() >= 1; }));
  auto second = c.get("/second");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->result_int(), 200);
  EXPECT_EQ(second->body(), "final /second");
}

// An upstream that sends a second response nobody asked for after a bodied answer — late, when
// the connection is back in the pool, or in the same write as the answer: the pool does not
// hand that connection out again (it is closed and counted), so the next request gets its own
// answer, not the stray one.
TEST(EdgeFaults, StrayResponseAfterABodiedAnswerIsNotTakenForTheNextAnswer) {
  for (auto b : {raw_upstream::behaviour::late_extra, raw_upstream::behaviour::extra_with_body}) {
    SCOPED_TRACE(b == raw_upstream::behaviour::late_extra ? "late" : "with the answer");
    raw_upstream upstream(b);
    auto o = one_region({upstream.port()}, fast_health("TCP"));
    o.threads = 1;  // one worker: one pool, so the second GET is offered the first's connection
    o.upstream_timeout = std::chrono::seconds(10);
    proxy p(o);
    ASSERT_TRUE(p.start());
    client c(p.ports()[0]);
    auto first = c.get("/first");
    ASSERT_TRUE(first);
    EXPECT_EQ(first->result_int(), 200);
    EXPECT_EQ(first->body(), "final /first");
    // Once the stray response is on the idle connection, the next request.
    ASSERT_TRUE(eventually([&] { return upstream.unasked() >= 1; }));
    auto second = c.get("/second");
    ASSERT_TRUE(second);
    EXPECT_EQ(second->result_int(), 200);
    EXPECT_EQ(second->body(), "final /second");
    EXPECT_GE(unexpected_bytes_drops(upstream), 1);
  }
}

// A chunk's extensions and the trailer section are bounded by the header limit (Beast bounds
// neither): an endless chunk line cannot make the proxy buffer without end. Each line here is
// one byte over the limit and never ends, so the proxy has read all of it when it refuses.
TEST(EdgeFaults, OverlongChunkLineOrTrailerGets400) {
  upstream west("west");
  auto o = one_region({west.port()});
  o.header_limit = 1024;
  proxy p(o);
  ASSERT_TRUE(p.start());
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto extension = client(p.ports()[0]).raw(head + "3;" + std::string(1023, 'x'));
  ASSERT_TRUE(extension);
  EXPECT_EQ(extension->result_int(), 400);
  auto trailer = client(p.ports()[0]).raw(head + "3\r\nabc\r\n0\r\nX-T: " + std::string(1017, 'x'));
  ASSERT_TRUE(trailer);
  EXPECT_EQ(trailer->result_int(), 400);
  EXPECT_EQ(west.hits(), 0);
  // Within the limit, both are fine (dropped on the way).
  auto ok = client(p.ports()[0])
                .raw(head + "3;" + std::string(500, 'x') +
                     "\r\nabc\r\n0\r\nX-T: " + std::string(500, 'x') + "\r\n\r\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_int(), 200);
  EXPECT_EQ(ok->body(), "west / abc");
}

// Request smuggling: a Transfer-Encoding other than chunked is refused (400, or 501 for codings
// before chunked) and the connection closed; neither the request nor the bytes after its header
// (here a second request) reach the upstream. Nor does a request with two Host fields.
TEST(EdgeFaults, TransferCodingsOtherThanChunkedAreRefused) {
  upstream west("west");
  proxy p(one_region({west.port()}));
  ASSERT_TRUE(p.start());
  const auto port = p.ports()[0];
  {
    client c(port);
    auto r = c.raw(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
        "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 400);
    EXPECT_FALSE(r->keep_alive());
  }
  auto coded = client(port).raw(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n");
  ASSERT_TRUE(coded);
  EXPECT_EQ(coded->result_int(), 501);
  auto two_hosts = client(port).raw("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  ASSERT_TRUE(two_hosts);
  EXPECT_EQ(two_hosts->result_int(), 400);
  EXPECT_EQ(west.hits(), 0);
  auto ok = get_once(port, "/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_int(), 200);
}

// An HTTP/1.1 request without Host is refused with 400 and not forwarded (RFC 9112 §3.2); an
// HTTP/1.0 one may leave it out, and is served.
TEST(EdgeFaults, Http11RequestWithoutHostGets400) {
  upstream west("west");
  proxy p(one_region({west.port()}));
  ASSERT_TRUE(p.start());
  const auto port = p.ports()[0];
  auto no_host = client(port).raw("GET /x HTTP/1.1\r\nAccept: */*\r\n\r\n");
  ASSERT_TRUE(no_host);
  EXPECT_EQ(no_host->result_int(), 400);
  EXPECT_NE(no_host->body().find("without a Host"), std::string::npos) << no_host->body();
  auto with_body = client(port).raw("POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(with_body);
  EXPECT_EQ(with_body->result_int(), 400);
  EXPECT_EQ(west.hits(), 0);
  auto old = client(port).raw("GET /x HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->result_int(), 200);
  EXPECT_EQ(west.hits(), 1);
}

// After all that abuse, connections are all closed and the proxy still serves.
TEST(EdgeFaults, NoConnectionLeaksAfterBadInput) {
  upstream west("west");
  proxy p(one_region({west.port()}));
  ASSERT_TRUE(p.start());
  const auto port = p.ports()[0];
  for (int i = 0; i < 5; ++i) {
    client(port).raw("BAD\r\n\r\n");
    client(port).raw("GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    client stalled(port);
    stalled.raw("GET / HTTP/1.1\r\n");
    {
      client gone(port);  // connects and leaves without a word
    }
  }
  auto r = get_once(port, "/ok");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_TRUE(eventually([&] { return active_connections(port) == 0; }));
}
