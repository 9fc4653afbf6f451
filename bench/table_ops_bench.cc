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
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
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
};

endpoint_address parse_endpoint(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "http") throw std::runtime_error("endpoint must be http://host:port");
  return {std::string(u->host()), u->has_port() ? std::string(u->port()) : "80"};
}

// One keep-alive HTTP/1.1 connection (reconnects after an error).
class connection {
 public:
  connection(asio::any_io_executor ex, endpoint_address addr)
      : stream_(asio::make_strand(ex)), addr_(std::move(addr)) {}

  // Sends one DynamoDB request; returns (HTTP status, body). Throws on transport failure.
  asio::awaitable<std::pair<unsigned, std::string>> call(const std::string& operation,
                                                         std::string body) {
    if (!stream_.socket().is_open()) {
      tcp::resolver resolver(co_await asio::this_coro::executor);
      auto results = co_await resolver.async_resolve(addr_.host, addr_.port, asio::use_awaitable);
      stream_.expires_after(std::chrono::seconds(10));
      co_await stream_.async_connect(results, asio::use_awaitable);
      stream_.expires_never();
      stream_.socket().set_option(tcp::no_delay(true));
    }
    // The request is formatted as text and written with one call: Beast's serializer and a
    // deadline timer armed per call cost this client (on the same cores as the server under
    // test) about as much CPU as a GetItem costs the server. The whole run has one deadline
    // instead (run_op).
    std::string req = fmt::format(
        "POST / HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/x-amz-json-1.0\r\n"
        "X-Amz-Target: DynamoDB_20120810.{}\r\nX-Amz-Date: 20260101T000000Z\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-west-2/dynamodb/"
        "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0\r\n"
        "Content-Length: {}\r\n\r\n",
        addr_.host, addr_.port, operation, body.size());
    req += body;
    try {
      if (per_call_deadline) stream_.expires_after(std::chrono::seconds(60));
      co_await asio::async_write(stream_, asio::buffer(req), asio::use_awaitable);
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);  // a Scan page is at most 1 MB; headroom for others
      co_await bhttp::async_read(stream_, buffer_, parser, asio::use_awaitable);
      auto res = parser.release();
      if (!res.keep_alive()) close();
      co_return std::pair{res.result_int(), std::move(res.body())};
    } catch (...) {
      close();
      throw;
    }
  }

 public:
  // Arm a 60 s deadline around each call (setup, loading, Scan); the measured load instead has
  // one deadline for the whole run (run_op), so no timer is armed per request.
  bool per_call_deadline = true;

  // close() on the connection's own strand (from another thread's timer).
  void post_close() {
    asio::post(stream_.get_executor(), [this] { close(); });
  }

  void close() {
    beast::error_code ignored;  // closing a socket that failed: nothing to report
    stream_.socket().close(ignored);
    buffer_.clear();
  }

 private:
  beast::tcp_stream stream_;
  endpoint_address addr_;
  beast::flat_buffer buffer_;
};

// Runs `body` as a coroutine on a fresh io_context and returns its result.
template <typename T, typename F>
T run_sync(F body) {
  asio::io_context io;
  auto fut = asio::co_spawn(io, body(io.get_executor()), asio::use_future);
  io.run();
  return fut.get();
}

std::string key_of(int k) { return fmt::format("mysfit-{:08d}", k); }
std::string group_of(const options& o, int k) { return fmt::format("g{}", k / o.group_size); }

json::object item_json(const options& o, int k, std::size_t payload_bytes) {
  return json::object{{"MysfitId", {{"S", key_of(k)}}},
                      {"Grp", {{"S", group_of(o, k)}}},
                      {"Likes", {{"N", "0"}}},
                      {"Payload", {{"S", std::string(payload_bytes, 'x')}}}};
}

std::string request_body(const options& o, const std::string& op, int k) {
  json::object key{{"MysfitId", {{"S", key_of(k)}}}};
  json::object r{{"TableName", o.table}};
  if (op == "GetItem") {
    r["Key"] = key;
  } else if (op == "PutItem") {
    r["Item"] = item_json(o, k, 100);
  } else if (op == "UpdateItem") {
    r["Key"] = key;
    r["UpdateExpression"] = "SET Likes = Likes + :n";
    r["ExpressionAttributeValues"] = json::object{{":n", {{"N", "1"}}}};
  } else if (op == "Query") {
    r["IndexName"] = "GrpIndex";
    r["KeyConditionExpression"] = "Grp = :g";
    r["ExpressionAttributeValues"] = json::object{{":g", {{"S", group_of(o, k)}}}};
  } else {
    throw std::runtime_error("unknown operation " + op);
  }
  return json::serialize(r);
}

// Throws with the server's message unless the status is 200.
json::value expect_ok(const std::string& op, const std::pair<unsigned, std::string>& res) {
  if (res.first != 200)
    throw std::runtime_error(fmt::format("{} -> HTTP {}: {}", op, res.first, res.second));
  return json::parse(res.second);
}

// Creates the table (hash MysfitId; GSI GrpIndex on Grp + MysfitId, projection ALL) unless it
// exists, and waits until it and its index are ACTIVE.
asio::awaitable<void> create_table(const options& o, connection& c) {
  json::object describe{{"TableName", o.table}};
  auto existing = co_await c.call("DescribeTable", json::serialize(describe));
  if (existing.first != 200) {
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
  asio::io_context io;
  std::vector<std::unique_ptr<connection>> conns;
  std::exception_ptr failure;
  auto start = steady::now();
  int per = (count + o.connections - 1) / o.connections;
  for (int i = 0; i < o.connections; ++i) {
    conns.push_back(std::make_unique<connection>(io.get_executor(), addr));
    int first = i * per, last = std::min(count, first + per);
    if (first >= last) break;
    asio::co_spawn(io, load_range(o, *conns.back(), first, last, payload_bytes),
                   [&failure](std::exception_ptr e) {
                     if (e && !failure) failure = e;
                   });
  }
  std::vector<std::thread> threads;
  for (int t = 1; t < o.threads; ++t) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
  return std::chrono::duration<double>(steady::now() - start).count();
}

struct client_stats {
  std::vector<std::uint32_t> latencies_us;  // measured requests only
  std::uint64_t errors = 0;
  std::uint64_t unsent = 0;  // open loop: scheduled in the measured window, not sent by its end
  std::string first_error;
};

// Closed loop (o.rate == 0): send, wait for the answer, send the next. Open loop: send each
// request at its scheduled time (scheduled_send; at once when the previous answer came late).
// A server slower than the rate leaves requests unsent when the run ends: they are counted as
// `unsent`, so the throughput printed stays what the server answered.
asio::awaitable<void> client_loop(const options& o, const std::string& op, connection& c,
                                  client_stats& stats, steady::time_point start,
                                  steady::time_point measure_from, steady::time_point until,
                                  int index, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick(0, o.items - 1);
  asio::steady_timer pace(co_await asio::this_coro::executor);
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
        pace.expires_at(t0);
        co_await pace.async_wait(asio::use_awaitable);
      }
    } else if (t0 >= until) {
      break;
    }
    std::string body = request_body(o, op, pick(rng));
    bool ok = false;
    try {
      auto res = co_await c.call(op, std::move(body));
      ok = res.first == 200;
      if (!ok && stats.first_error.empty())
        stats.first_error = fmt::format("HTTP {}: {}", res.first, res.second.substr(0, 200));
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
  double rps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::string first_error;
};

op_result run_op(const options& o, const endpoint_address& addr, const std::string& op) {
  asio::io_context io;
  std::vector<std::unique_ptr<connection>> conns;
  std::vector<client_stats> stats(static_cast<std::size_t>(o.connections));
  auto start = steady::now();
  auto measure_from =
      start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.warmup));
  auto until = measure_from + std::chrono::duration_cast<steady::duration>(
                                  std::chrono::duration<double>(o.duration));
  std::atomic<int> running{o.connections};
  asio::steady_timer deadline(io, until + std::chrono::seconds(60));
  for (int i = 0; i < o.connections; ++i) {
    conns.push_back(std::make_unique<connection>(io.get_executor(), addr));
    conns.back()->per_call_deadline = false;
    asio::co_spawn(io,
                   client_loop(o, op, *conns.back(), stats[static_cast<std::size_t>(i)], start,
                               measure_from, until, i, static_cast<unsigned>(i) * 7919u + 1),
                   [&running, &deadline](std::exception_ptr) {
                     if (--running == 0) deadline.cancel();
                   });
  }
  // One deadline for the run: a server that stops answering ends it 60 s after its end.
  deadline.async_wait([&conns](const boost::system::error_code& ec) {
    if (!ec)
      for (auto& c : conns) c->post_close();
  });
  std::vector<std::thread> threads;
  for (int t = 1; t < o.threads; ++t) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();

  op_result r{.op = op};
  std::vector<std::uint32_t> all;
  for (auto& s : stats) {
    all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
    r.errors += s.errors;
    r.unsent += s.unsent;
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

// Scans the whole table page by page; returns (items, seconds).
std::pair<std::uint64_t, double> scan_all(const options& o, const endpoint_address& addr) {
  return run_sync<std::pair<std::uint64_t, double>>(
      [&](asio::any_io_executor ex) -> asio::awaitable<std::pair<std::uint64_t, double>> {
        connection c(ex, addr);
        std::uint64_t count = 0;
        auto start = steady::now();
        json::object body{{"TableName", o.table}};
        for (;;) {
          auto page = expect_ok("Scan", co_await c.call("Scan", json::serialize(body)));
          const auto& p = page.as_object();
          count += static_cast<std::uint64_t>(p.at("Count").to_number<std::int64_t>());
          auto* last = p.if_contains("LastEvaluatedKey");
          if (!last) break;
          body["ExclusiveStartKey"] = *last;
        }
        co_return std::pair{count, std::chrono::duration<double>(steady::now() - start).count()};
      });
}

void setup(const options& o, const endpoint_address& addr) {
  run_sync<bool>([&](asio::any_io_executor ex) -> asio::awaitable<bool> {
    connection c(ex, addr);
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
      return count == static_cast<std::uint64_t>(o.million_items) ? 0 : 1;
    }
    if (!o.skip_preload) {
      double load_s = load_items(o, addr, o.items, 100);
      fmt::print("label={} preload items={} seconds={:.1f}\n", o.label, o.items, load_s);
    }
    for (const auto& op : o.ops) {
      auto r = run_op(o, addr, op);
      fmt::print(
          "label={} op={} connections={} requests={} errors={} rps={:.0f} p50_ms={:.3f} "
          "p99_ms={:.3f} max_ms={:.3f}{}\n",
          o.label, r.op, o.connections, r.requests, r.errors, r.rps, r.p50_ms, r.p99_ms, r.max_ms,
          o.rate > 0 ? fmt::format(" target_rps={:.0f} unsent={}", o.rate, r.unsent) : "");
      if (!r.first_error.empty()) fmt::print(stderr, "{} first error: {}\n", r.op, r.first_error);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "table_ops_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
