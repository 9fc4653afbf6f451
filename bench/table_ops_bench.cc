// table_ops_bench: a closed-loop load tool for any DynamoDB JSON 1.0 endpoint (mysfits-table,
// dynalite, ...). N keep-alive connections over a few threads each send one request, wait for the
// answer, and send the next, for a fixed duration per operation; it prints throughput and p50/p99
// latency for GetItem, PutItem, UpdateItem (`SET Likes = Likes + :n`) and a GSI Query (issue 2
// "Speed"). `--mode million` loads many 200-byte items and times a full Scan instead.
// `--rate R` makes the load open-loop: R requests/s in total, each connection sending on a fixed
// schedule, and each latency measured from the request's scheduled send time, so the time a
// request waits behind a slow one is counted (no coordinated omission).
// Requests carry a fixed, unverified SigV4-shaped Authorization header: the servers under test
// run without credentials, and signing each request would spend the client's CPU, not theirs.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

struct options {
  std::string endpoint = "http://127.0.0.1:8000";  // server under test
  std::string table = "MysfitsBench";              // table the tool creates and loads
  int connections = 16;                            // concurrent keep-alive connections
  int threads = 2;                                 // client threads running the connections
  double duration = 10;                            // seconds of measured load per operation
  double warmup = 1;                               // seconds of unmeasured load first
  int items = 10000;                               // key space of the load (preloaded)
  int group_size = 10;                             // items per GSI key (a Query returns these)
  std::vector<std::string> ops = {"GetItem", "PutItem", "UpdateItem", "Query"};
  std::string mode = "ops";     // ops | million | setup | preload
  int million_items = 1000000;  // items loaded by --mode million
  std::string label;            // printed with each result line
  bool skip_preload = false;    // the items are already there (a second run on one server)
  int scan_segments = 1;        // --mode million: also a parallel Scan in this many segments
  double rate = 0;              // open loop: requests/s over all connections; 0: closed loop
};

// Open-loop pacing: connection `i` of `connections` sends its k-th request at
// start + (i + k * connections) / rate seconds, so the total rate is `rate` and the connections'
// sends interleave evenly. Latency is measured from this time, not from the actual send.
steady::time_point scheduled_send(steady::time_point start, double rate, int connections, int i,
                                  std::uint64_t k) {
  double at = (static_cast<double>(i) + static_cast<double>(k) * connections) / rate;
  return start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(at));
}

struct endpoint_address {
  std::string host;
  std::string port;
  std::vector<tcp::endpoint> resolved;  // looked up once, before any load
};

endpoint_address parse_endpoint(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "http") throw std::runtime_error("endpoint must be http://host:port");
  endpoint_address a{std::string(u->host()), u->has_port() ? std::string(u->port()) : "80", {}};
  asio::io_context io;
  tcp::resolver resolver(io);
  for (const auto& e : resolver.resolve(a.host, a.port)) a.resolved.push_back(e.endpoint());
  if (a.resolved.empty()) throw std::runtime_error("cannot resolve " + url);
  return a;
}

// The header block of a request, through "Content-Length: " (the length and body follow).
std::string request_head(const endpoint_address& addr, std::string_view operation) {
  return fmt::format(
      "POST / HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/x-amz-json-1.0\r\n"
      "X-Amz-Target: DynamoDB_20120810.{}\r\nX-Amz-Date: 20260101T000000Z\r\n"
      "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-west-2/dynamodb/"
      "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0\r\n"
      "Content-Length: ",
      addr.host, addr.port, operation);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// An HTTP answer; `body` points into the connection's buffer and is valid until its next call.
struct response {
  unsigned status = 0;
  std::string_view body;
};

// One keep-alive HTTP/1.1 connection (reconnects after an error) on one thread's io_context:
// a plain socket, no strand, no timer per request. Requests are written as one preformatted
// text; answers are read by a small reader (status line, Content-Length or chunked, body) into
// a buffer the connection keeps. Beast's parser, tcp_stream timers and a strand per connection
// cost this client (on the same two cores as the server under test) about half of what a
// GetItem costs the server.
class connection {
 public:
  static constexpr std::size_t header_limit = 64 * 1024;
  static constexpr std::size_t body_limit = 64 * 1024 * 1024;  // a Scan page is at most 1 MB

  connection(asio::io_context& io, const endpoint_address& addr)
      : socket_(io), deadline_(io), addr_(addr) {}

  // Arm a 60 s deadline around each call (setup, loading, Scan); the measured load instead has
  // one deadline for the whole run (run_op), so no timer is armed per request.
  bool per_call_deadline = true;

  // Sends one DynamoDB request with `body`. Throws on transport or protocol failure.
  asio::awaitable<response> call(std::string_view operation, std::string_view body) {
    out_ = request_head(addr_, operation);
    out_ += std::to_string(body.size());
    out_ += "\r\n\r\n";
    out_ += body;
    co_return co_await send_out();
  }

  // The reused buffer a caller renders a whole request into before send_out().
  std::string& out() { return out_; }

  // Sends out() (a whole HTTP request) and reads the answer.
  asio::awaitable<response> send_out() {
    try {
      if (!socket_.is_open()) {
        co_await asio::async_connect(socket_, addr_.resolved, asio::use_awaitable);
        socket_.set_option(tcp::no_delay(true));
      }
      if (per_call_deadline) {
        deadline_.expires_after(std::chrono::seconds(60));
        deadline_.async_wait([this](const boost::system::error_code& ec) {
          if (!ec) close();  // (cancelled: ec set, and `this` may be gone)
        });
      }
      co_await asio::async_write(socket_, asio::buffer(out_), asio::use_awaitable);
      auto r = co_await read_response();
      if (per_call_deadline) deadline_.cancel();
      co_return r;
    } catch (...) {
      if (per_call_deadline) deadline_.cancel();  // (its wait would keep the io_context running)
      close();
      throw;
    }
  }

  void close() {
    boost::system::error_code ignored;  // closing a socket that failed: nothing to report
    socket_.close(ignored);
    begin_ = end_ = 0;
  }

 private:
  // Reads at least one more byte into buf_ (growing it); false at end of stream.
  asio::awaitable<bool> fill() {
    if (begin_ > 0 && begin_ == end_) begin_ = end_ = 0;
    if (end_ == buf_.size()) {
      if (begin_ > 0) {  // move the unread part to the front
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      } else {
        buf_.resize(std::max<std::size_t>(buf_.size() * 2, 16 * 1024));
      }
    }
    auto [ec, n] = co_await socket_.async_read_some(
        asio::buffer(buf_.data() + end_, buf_.size() - end_), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) co_return false;
    if (ec) throw boost::system::system_error(ec);
    end_ += n;
    co_return true;
  }

  std::string_view unread() const { return {buf_.data() + begin_, end_ - begin_}; }

  // Reads one line ending in CRLF (without it) of the chunked framing.
  asio::awaitable<std::string> read_line() {
    for (;;) {
      auto u = unread();
      if (auto e = u.find("\r\n"); e != std::string_view::npos) {
        std::string line(u.substr(0, e));
        begin_ += e + 2;
        co_return line;
      }
      if (u.size() > header_limit) throw std::runtime_error("HTTP: line too long");
      if (!co_await fill()) throw std::runtime_error("HTTP: connection closed mid-response");
    }
  }

  asio::awaitable<response> read_response() {
    // Header block.
    std::size_t head_end;
    for (;;) {
      auto u = unread();
      head_end = u.find("\r\n\r\n");
      if (head_end != std::string_view::npos) break;
      if (u.size() > header_limit) throw std::runtime_error("HTTP: response header too large");
      if (!co_await fill()) throw std::runtime_error("HTTP: connection closed before a response");
    }
    std::string_view head = unread().substr(0, head_end);
    auto line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[8] != ' ')
      throw std::runtime_error("HTTP: bad status line '" + std::string(status_line) + "'");
    unsigned status = 0;
    for (std::size_t i = 9; i < 12; ++i) {
      char c = status_line[i];
      if (c < '0' || c > '9') throw std::runtime_error("HTTP: bad status line");
      status = status * 10 + static_cast<unsigned>(c - '0');
    }
    bool keep_alive = status_line.substr(5, 3) == "1.1";
    std::optional<std::size_t> content_length;
    bool chunked = false;
    std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      auto e = head.find("\r\n", pos);
      if (e == std::string_view::npos) e = head.size();
      std::string_view field = head.substr(pos, e - pos);
      pos = e + 2;
      auto colon = field.find(':');
      if (colon == std::string_view::npos) throw std::runtime_error("HTTP: bad header field");
      std::string_view name = field.substr(0, colon);
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      if (iequals(name, "content-length")) {
        std::size_t n = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc() || p != value.data() + value.size() || n > body_limit)
          throw std::runtime_error("HTTP: bad Content-Length");
        content_length = n;
      } else if (iequals(name, "transfer-encoding")) {
        chunked = iequals(value, "chunked");
      } else if (iequals(name, "connection")) {
        if (iequals(value, "close")) keep_alive = false;
        if (iequals(value, "keep-alive")) keep_alive = true;
      }
    }
    begin_ += head_end + 4;

    response r{.status = status};
    if (status / 100 == 1 || status == 204 || status == 304) {
      // no body
    } else if (chunked) {
      body_.clear();
      for (;;) {
        std::string size_line = co_await read_line();
        std::size_t n = 0;
        auto [p, ec] =
            std::from_chars(size_line.data(), size_line.data() + size_line.size(), n, 16);
        if (ec != std::errc() || n > body_limit - body_.size())
          throw std::runtime_error("HTTP: bad chunk size");
        if (n == 0) {
          while (!(co_await read_line()).empty()) {  // trailer fields, up to the empty line
          }
          break;
        }
        while (end_ - begin_ < n + 2)
          if (!co_await fill()) throw std::runtime_error("HTTP: connection closed mid-chunk");
        body_.append(buf_.data() + begin_, n);
        begin_ += n + 2;
      }
      r.body = body_;
    } else if (content_length) {
      while (end_ - begin_ < *content_length)
        if (!co_await fill()) throw std::runtime_error("HTTP: connection closed mid-body");
      r.body = std::string_view(buf_.data() + begin_, *content_length);
      begin_ += *content_length;
    } else {  // the body ends with the connection
      while (co_await fill())
        if (end_ - begin_ > body_limit) throw std::runtime_error("HTTP: body too large");
      body_.assign(buf_.data() + begin_, end_ - begin_);
      r.body = body_;
      keep_alive = false;
      begin_ = end_;
    }
    if (!keep_alive) {
      // The body may live in buf_: keep it for the caller, close the socket only.
      if (r.body.data() != body_.data()) {
        body_.assign(r.body);
        r.body = body_;
      }
      boost::system::error_code ignored;
      socket_.close(ignored);
      begin_ = end_ = 0;
    }
    co_return r;
  }

  tcp::socket socket_;
  asio::steady_timer deadline_;
  const endpoint_address& addr_;
  std::string out_;        // the request being sent
  std::vector<char> buf_;  // bytes read: [begin_, end_) not consumed yet
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::string body_;  // a chunked or close-delimited body
};

// Runs `body` as a coroutine on a fresh io_context and returns its result.
template <typename T, typename F>
T run_sync(F body) {
  asio::io_context io{1};
  auto fut = asio::co_spawn(io, body(io), asio::use_future);
  io.run();
  return fut.get();
}

// `threads` threads, each with its own io_context, running connection i on context i % threads:
// a connection's reads, writes and coroutine stay on one thread, so nothing needs a strand and
// no completion wakes another thread. Declare it before the objects that use its contexts (they
// must go first).
class io_threads {
 public:
  io_threads(int threads, int connections) {
    int n = std::max(1, std::min(threads, connections));
    for (int t = 0; t < n; ++t) ios_.push_back(std::make_unique<asio::io_context>(1));
  }
  asio::io_context& for_connection(int i) {
    return *ios_[static_cast<std::size_t>(i) % ios_.size()];
  }
  // Runs every context on its own thread (the first on the caller's) until all run out of work.
  void run() {
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < ios_.size(); ++t) pool.emplace_back([&io = *ios_[t]] { io.run(); });
    ios_[0]->run();
    for (auto& t : pool) t.join();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> ios_;
};

std::string key_of(int k) { return fmt::format("mysfit-{:08d}", k); }
std::string group_of(const options& o, int k) { return fmt::format("g{}", k / o.group_size); }

json::object item_json(std::string_view key, std::string_view group, std::size_t payload_bytes) {
  return json::object{{"MysfitId", {{"S", key}}},
                      {"Grp", {{"S", group}}},
                      {"Likes", {{"N", "0"}}},
                      {"Payload", {{"S", std::string(payload_bytes, 'x')}}}};
}

json::object item_json(const options& o, int k, std::size_t payload_bytes) {
  return item_json(key_of(k), group_of(o, k), payload_bytes);
}

// The body of one measured request for item key `key` in group `group`.
std::string request_body(const options& o, const std::string& op, std::string_view key,
                         std::string_view group) {
  json::object r{{"TableName", o.table}};
  if (op == "GetItem") {
    r["Key"] = json::object{{"MysfitId", {{"S", key}}}};
  } else if (op == "PutItem") {
    r["Item"] = item_json(key, group, 100);
  } else if (op == "UpdateItem") {
    r["Key"] = json::object{{"MysfitId", {{"S", key}}}};
    r["UpdateExpression"] = "SET Likes = Likes + :n";
    r["ExpressionAttributeValues"] = json::object{{":n", {{"N", "1"}}}};
  } else if (op == "Query") {
    r["IndexName"] = "GrpIndex";
    r["KeyConditionExpression"] = "Grp = :g";
    r["ExpressionAttributeValues"] = json::object{{":g", {{"S", group}}}};
  } else {
    throw std::runtime_error("unknown operation " + op);
  }
  return json::serialize(r);
}

// Renders one operation's whole requests (header block and body) for any key into a reused
// buffer, without JSON or allocation: the body is request_body()'s JSON rendered once with
// markers for the key and the group ('@' cannot occur in a table name or the fixed parts), cut
// at the markers. The constructor checks the rendering against request_body() for a few keys.
class request_template {
 public:
  request_template(const options& o, const endpoint_address& addr, const std::string& op)
      : o_(o), head_(request_head(addr, op)) {
    std::string body = request_body(o, op, key_marker, group_marker);
    std::size_t pos = 0;
    for (;;) {
      auto k = body.find(key_marker, pos);
      auto g = body.find(group_marker, pos);
      auto next = std::min(k, g);
      if (next == std::string::npos) break;
      parts_.push_back({body.substr(pos, next - pos), next == k ? hole::key : hole::group});
      pos = next + (next == k ? key_marker.size() : group_marker.size());
    }
    tail_ = body.substr(pos);
    for (int k : {0, 1, o.items / 2, o.items - 1}) {
      std::string got;
      render(k, got);
      std::string want = request_body(o, op, key_of(k), group_of(o, k));
      want = head_ + std::to_string(want.size()) + "\r\n\r\n" + want;
      if (got != want) throw std::logic_error("request_template renders " + op + " wrongly");
    }
  }

  void render(int k, std::string& out) const {
    // key_of(k) and group_of(o, k), without a format call.
    char key[32] = "mysfit-";
    char digits[16];
    auto [dend, dec] = std::to_chars(digits, digits + sizeof digits, k);
    (void)dec;  // an int fits
    auto ndigits = static_cast<std::size_t>(dend - digits);
    std::size_t key_len = 7;
    for (std::size_t i = ndigits; i < 8; ++i) key[key_len++] = '0';
    std::memcpy(key + key_len, digits, ndigits);
    key_len += ndigits;
    char group[16] = "g";
    auto [gend, gec] = std::to_chars(group + 1, group + sizeof group, k / o_.group_size);
    (void)gec;
    auto group_len = static_cast<std::size_t>(gend - group);
    std::size_t body_len = tail_.size();
    for (const auto& p : parts_)
      body_len += p.text.size() + (p.then == hole::key ? key_len : group_len);
    out.assign(head_);
    char num[24];
    auto [end, ec] = std::to_chars(num, num + sizeof num, body_len);
    (void)ec;  // 24 digits hold any size_t
    out.append(num, end);
    out += "\r\n\r\n";
    for (const auto& p : parts_) {
      out += p.text;
      if (p.then == hole::key)
        out.append(key, key_len);
      else
        out.append(group, group_len);
    }
    out += tail_;
  }

 private:
  static constexpr std::string_view key_marker = "@KEY@";
  static constexpr std::string_view group_marker = "@GROUP@";
  enum class hole { key, group };
  struct part {
    std::string text;
    hole then;
  };
  const options& o_;
  std::string head_;
  std::vector<part> parts_;
  std::string tail_;
};

// Throws with the server's message unless the status is 200.
json::value expect_ok(const std::string& op, const response& res) {
  if (res.status != 200)
    throw std::runtime_error(fmt::format("{} -> HTTP {}: {}", op, res.status, res.body));
  return json::parse(res.body);
}

// Creates the table (hash MysfitId; GSI GrpIndex on Grp + MysfitId, projection ALL) unless it
// exists, and waits until it and its index are ACTIVE.
asio::awaitable<void> create_table(const options& o, connection& c) {
  json::object describe{{"TableName", o.table}};
  auto existing = co_await c.call("DescribeTable", json::serialize(describe));
  if (existing.status != 200) {
    json::value create = json::parse(R"({
      "AttributeDefinitions": [{"AttributeName": "MysfitId", "AttributeType": "S"},
                               {"AttributeName": "Grp", "AttributeType": "S"}],
      "KeySchema": [{"AttributeName": "MysfitId", "KeyType": "HASH"}],
      "ProvisionedThroughput": {"ReadCapacityUnits": 1000, "WriteCapacityUnits": 1000},
      "GlobalSecondaryIndexes": [{"IndexName": "GrpIndex",
        "KeySchema": [{"AttributeName": "Grp", "KeyType": "HASH"},
                      {"AttributeName": "MysfitId", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 1000, "WriteCapacityUnits": 1000}}]})");
    create.as_object()["TableName"] = o.table;
    expect_ok("CreateTable", co_await c.call("CreateTable", json::serialize(create)));
  }
  auto deadline = steady::now() + std::chrono::seconds(60);
  for (;;) {
    auto d =
        expect_ok("DescribeTable", co_await c.call("DescribeTable", json::serialize(describe)));
    const auto& t = d.at("Table").as_object();
    bool active = t.at("TableStatus").as_string() == "ACTIVE";
    if (auto* g = t.if_contains("GlobalSecondaryIndexes"))
      for (const auto& idx : g->as_array())
        if (auto* s = idx.as_object().if_contains("IndexStatus"))
          active = active && s->as_string() == "ACTIVE";
    if (active) co_return;
    if (steady::now() > deadline) throw std::runtime_error("table did not become ACTIVE");
    asio::steady_timer t2(co_await asio::this_coro::executor, std::chrono::milliseconds(200));
    co_await t2.async_wait(asio::use_awaitable);
  }
}

// Writes items [first, last) with BatchWriteItem, resubmitting UnprocessedItems.
asio::awaitable<void> load_range(const options& o, connection& c, int first, int last,
                                 std::size_t payload_bytes) {
  for (int k = first; k < last; k += 25) {
    json::array puts;
    for (int i = k; i < std::min(last, k + 25); ++i)
      puts.push_back(json::object{{"PutRequest", {{"Item", item_json(o, i, payload_bytes)}}}});
    json::object request{{o.table, std::move(puts)}};
    for (int attempt = 0; !request.empty(); ++attempt) {
      if (attempt > 100) throw std::runtime_error("UnprocessedItems never drained");
      json::object body{{"RequestItems", request}};
      auto r =
          expect_ok("BatchWriteItem", co_await c.call("BatchWriteItem", json::serialize(body)));
      request = r.at("UnprocessedItems").as_object();
    }
  }
}

// Loads `count` items over o.connections connections in parallel; returns seconds taken.
double load_items(const options& o, const endpoint_address& addr, int count,
                  std::size_t payload_bytes) {
  io_threads pool(o.threads, o.connections);
  std::vector<std::unique_ptr<connection>> conns(static_cast<std::size_t>(o.connections));
  std::mutex mu;
  std::exception_ptr failure;
  auto start = steady::now();
  int per = (count + o.connections - 1) / o.connections;
  for (int i = 0; i < o.connections; ++i) {
    int first = i * per, last = std::min(count, first + per);
    if (first >= last) break;
    auto& io = pool.for_connection(i);
    auto& c = conns[static_cast<std::size_t>(i)];
    c = std::make_unique<connection>(io, addr);
    asio::co_spawn(io, load_range(o, *c, first, last, payload_bytes),
                   [&mu, &failure](std::exception_ptr e) {
                     std::lock_guard lock(mu);
                     if (e && !failure) failure = e;
                   });
  }
  pool.run();
  if (failure) std::rethrow_exception(failure);
  return std::chrono::duration<double>(steady::now() - start).count();
}

struct client_stats {
  std::vector<std::uint32_t> latencies_us;  // measured requests only
  std::uint64_t errors = 0;
  std::uint64_t unsent = 0;    // open loop: scheduled in the measured window, not sent by its end
  std::uint64_t answered = 0;  // requests the server answered (any status), warm-up included
  std::string first_error;
};

// Closed loop (o.rate == 0): send, wait for the answer, send the next. Open loop: send each
// request at its scheduled time (scheduled_send; at once when the previous answer came late).
// A server slower than the rate leaves requests unsent when the run ends: they are counted as
// `unsent`, so the throughput printed stays what the server answered.
asio::awaitable<void> client_loop(const options& o, const request_template& requests, connection& c,
                                  client_stats& stats, steady::time_point start,
                                  steady::time_point measure_from, steady::time_point until,
                                  int index, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick(0, o.items - 1);
  std::optional<asio::steady_timer> pace;  // open loop only
  if (o.rate > 0) pace.emplace(co_await asio::this_coro::executor);
  stats.latencies_us.reserve(static_cast<std::size_t>(
      std::min(1e6, (o.rate > 0 ? o.rate / o.connections : 20000.0) * o.duration * 1.2)));
  for (std::uint64_t k = 0;; ++k) {
    auto t0 = steady::now();
    if (o.rate > 0) {
      t0 = scheduled_send(start, o.rate, o.connections, index, k);
      if (t0 >= until) break;
      if (steady::now() >= until) {
        if (t0 >= measure_from) ++stats.unsent;
        continue;
      }
      if (t0 > steady::now()) {
        pace->expires_at(t0);
        co_await pace->async_wait(asio::use_awaitable);
      }
    } else if (t0 >= until) {
      break;
    }
    requests.render(pick(rng), c.out());
    bool ok = false;
    try {
      auto res = co_await c.send_out();
      ++stats.answered;
      ok = res.status == 200;
      if (!ok && stats.first_error.empty())
        stats.first_error = fmt::format("HTTP {}: {}", res.status, res.body.substr(0, 200));
    } catch (const std::exception& e) {
      if (stats.first_error.empty()) stats.first_error = e.what();
    }
    auto t1 = steady::now();
    if (t0 < measure_from) continue;
    if (ok)
      stats.latencies_us.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count()));
    else
      ++stats.errors;
  }
}

struct op_result {
  std::string op;
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t unsent = 0;
  std::uint64_t answered = 0;
  double rps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::string first_error;
};

op_result run_op(const options& o, const endpoint_address& addr, const std::string& op) {
  const request_template requests(o, addr, op);
  io_threads pool(o.threads, o.connections);
  std::vector<std::unique_ptr<connection>> conns(static_cast<std::size_t>(o.connections));
  std::vector<client_stats> stats(static_cast<std::size_t>(o.connections));
  auto start = steady::now();
  auto measure_from =
      start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.warmup));
  auto until = measure_from + std::chrono::duration_cast<steady::duration>(
                                  std::chrono::duration<double>(o.duration));
  // Per thread: its connections and one deadline for the run, so a server that stops answering
  // ends it 60 s after its end (the deadline closes that thread's connections).
  struct per_thread {
    std::vector<connection*> conns;
    std::unique_ptr<asio::steady_timer> deadline;
    int running = 0;
  };
  std::map<asio::io_context*, per_thread> threads;
  for (int i = 0; i < o.connections; ++i) {
    auto& io = pool.for_connection(i);
    auto& t = threads[&io];
    if (!t.deadline) {
      t.deadline = std::make_unique<asio::steady_timer>(io, until + std::chrono::seconds(60));
      t.deadline->async_wait([&t](const boost::system::error_code& ec) {
        if (!ec)
          for (auto* c : t.conns) c->close();
      });
    }
    auto& c = conns[static_cast<std::size_t>(i)];
    c = std::make_unique<connection>(io, addr);
    c->per_call_deadline = false;
    t.conns.push_back(c.get());
    ++t.running;
    asio::co_spawn(io,
                   client_loop(o, requests, *c, stats[static_cast<std::size_t>(i)], start,
                               measure_from, until, i, static_cast<unsigned>(i) * 7919u + 1),
                   [&t](std::exception_ptr) {
                     if (--t.running == 0) t.deadline->cancel();
                   });
  }
  pool.run();

  op_result r{.op = op};
  std::vector<std::uint32_t> all;
  for (auto& s : stats) {
    all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
    r.errors += s.errors;
    r.unsent += s.unsent;
    r.answered += s.answered;
    if (r.first_error.empty()) r.first_error = s.first_error;
  }
  r.requests = all.size();
  r.rps = static_cast<double>(all.size()) / o.duration;
  if (!all.empty()) {
    std::sort(all.begin(), all.end());
    auto at = [&all](double q) {
      auto i = static_cast<std::size_t>(q * static_cast<double>(all.size() - 1));
      return all[i] / 1000.0;
    };
    r.p50_ms = at(0.50);
    r.p99_ms = at(0.99);
    r.max_ms = all.back() / 1000.0;
  }
  return r;
}

// One segment of a Scan (the whole table when `total` is 1), page by page; returns its items.
asio::awaitable<std::uint64_t> scan_segment(const options& o, const endpoint_address& addr,
                                            asio::io_context& io, int segment, int total) {
  connection c(io, addr);
  std::uint64_t count = 0;
  json::object body{{"TableName", o.table}};
  if (total > 1) {
    body["Segment"] = segment;
    body["TotalSegments"] = total;
  }
  for (;;) {
    auto page = expect_ok("Scan", co_await c.call("Scan", json::serialize(body)));
    const auto& p = page.as_object();
    count += static_cast<std::uint64_t>(p.at("Count").to_number<std::int64_t>());
    auto* last = p.if_contains("LastEvaluatedKey");
    if (!last) break;
    body["ExclusiveStartKey"] = *last;
  }
  co_return count;
}

// Scans the whole table page by page, in `segments` parallel segments (1: a plain Scan), every
// segment at once on a connection of its own, all on one client thread; returns (items,
// seconds).
std::pair<std::uint64_t, double> scan_all(const options& o, const endpoint_address& addr,
                                          int segments = 1) {
  asio::io_context io{1};
  std::uint64_t count = 0;
  std::exception_ptr failure;
  auto start = steady::now();
  for (int s = 0; s < segments; ++s) {
    asio::co_spawn(io, scan_segment(o, addr, io, s, segments),
                   [&](std::exception_ptr e, std::uint64_t n) {
                     if (e && !failure) failure = e;
                     count += n;
                   });
  }
  io.run();
  if (failure) std::rethrow_exception(failure);
  return {count, std::chrono::duration<double>(steady::now() - start).count()};
}

void setup(const options& o, const endpoint_address& addr) {
  run_sync<bool>([&](asio::io_context& io) -> asio::awaitable<bool> {
    connection c(io, addr);
    co_await create_table(o, c);
    co_return true;
  });
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"DynamoDB load (closed loop, or open loop with --rate): throughput and p50/p99"};
  app.add_option("--endpoint", o.endpoint, "http://host:port of the server under test");
  app.add_option("--table", o.table, "table to create, load and use");
  app.add_option("--connections", o.connections, "keep-alive connections")
      ->check(CLI::Range(1, 4096));
  app.add_option("--threads", o.threads, "client threads")->check(CLI::Range(1, 64));
  app.add_option("--duration", o.duration, "measured seconds per operation")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "unmeasured seconds before each operation");
  app.add_option("--items", o.items, "key space (preloaded before the load)")
      ->check(CLI::Range(10, 100000000));
  app.add_option("--ops", o.ops, "operations: GetItem PutItem UpdateItem Query");
  app.add_option("--mode", o.mode, "ops | million | setup | preload")
      ->check(CLI::IsMember({"ops", "million", "setup", "preload"}));
  app.add_option("--million-items", o.million_items, "items loaded by --mode million");
  app.add_option("--scan-segments", o.scan_segments,
                 "--mode million: then a parallel Scan in this many segments at once")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--label", o.label, "name printed with each result (e.g. the server)");
  app.add_option("--rate", o.rate,
                 "open loop: requests/s in total over the connections, latency measured from "
                 "each request's scheduled send time; 0 (default): closed loop")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--skip-preload", o.skip_preload,
               "do not load the --items first (an earlier run on the same server did)");
  CLI11_PARSE(app, argc, argv);

  try {
    auto addr = parse_endpoint(o.endpoint);
    setup(o, addr);
    if (o.mode == "setup") return 0;
    if (o.mode == "preload") {  // the table and its --items, no load (a later run skips these)
      double load_s = load_items(o, addr, o.items, 100);
      fmt::print("label={} preload items={} seconds={:.1f}\n", o.label, o.items, load_s);
      return 0;
    }
    if (o.mode == "million") {
      double load_s = load_items(o, addr, o.million_items, 200);
      fmt::print("label={} mode=million items={} load_seconds={:.1f} load_items_per_s={:.0f}\n",
                 o.label, o.million_items, load_s, o.million_items / load_s);
      auto [count, scan_s] = scan_all(o, addr);
      fmt::print("label={} mode=million scanned={} scan_seconds={:.2f} scan_items_per_s={:.0f}\n",
                 o.label, count, scan_s, static_cast<double>(count) / scan_s);
      bool all = count == static_cast<std::uint64_t>(o.million_items);
      if (o.scan_segments > 1) {
        auto [pcount, pscan_s] = scan_all(o, addr, o.scan_segments);
        fmt::print(
            "label={} mode=million segments={} scanned={} scan_seconds={:.2f} "
            "scan_items_per_s={:.0f}\n",
            o.label, o.scan_segments, pcount, pscan_s, static_cast<double>(pcount) / pscan_s);
        all = all && pcount == count;
      }
      return all ? 0 : 1;
    }
    if (!o.skip_preload) {
      double load_s = load_items(o, addr, o.items, 100);
      fmt::print("label={} preload items={} seconds={:.1f}\n", o.label, o.items, load_s);
    }
    for (const auto& op : o.ops) {
      auto r = run_op(o, addr, op);
      fmt::print(
          "label={} op={} connections={} requests={} errors={} rps={:.0f} p50_ms={:.3f} "
          "p99_ms={:.3f} max_ms={:.3f} answered={}{}\n",
          o.label, r.op, o.connections, r.requests, r.errors, r.rps, r.p50_ms, r.p99_ms, r.max_ms,
          r.answered,
          o.rate > 0 ? fmt::format(" target_rps={:.0f} unsent={}", o.rate, r.unsent) : "");
      if (!r.first_error.empty()) fmt::print(stderr, "{} first error: {}\n", r.op, r.first_error);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "table_ops_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
