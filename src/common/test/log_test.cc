// Tests for the log line format: the formatter init() installs writes what spdlog's pattern
// "%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v" writes, and lines reach stderr through the buffered sink.
#include "mysfits/common/log.h"

#include <gtest/gtest.h>
#include <spdlog/pattern_formatter.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* pattern = "%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v";

std::string render(spdlog::formatter& f, const spdlog::details::log_msg& msg, std::size_t* start,
                   std::size_t* end) {
  spdlog::memory_buf_t out;
  f.format(msg, out);
  *start = msg.color_range_start;
  *end = msg.color_range_end;
  return std::string(out.data(), out.size());
}

// Runs `body` with stderr sent to a temporary file and mysfits::log::init(name) installed, then
// flushes the logger, puts stderr back and returns the lines written.
template <class Body>
std::vector<std::string> stderr_lines(const char* name, Body body) {
  char path[] = "/tmp/mysfits-log-test-XXXXXX";
  int fd = ::mkstemp(path);
  int saved = fd >= 0 ? ::dup(STDERR_FILENO) : -1;
  if (saved < 0 || ::dup2(fd, STDERR_FILENO) < 0) {
    ADD_FAILURE() << "cannot send stderr to " << path;
    if (saved >= 0) ::close(saved);
    if (fd >= 0) {
      ::close(fd);
      std::remove(path);
    }
    return {};
  }
  mysfits::log::init(name);
  body();
  spdlog::default_logger()->flush();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(fd);
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::remove(path);
  return lines;
}

}  // namespace

// Same bytes and same colour range as spdlog's pattern formatter, across milliseconds 0 and 999,
// second and year boundaries, every level and an empty message.
TEST(LineFormatter, MatchesSpdlogPattern) {
  spdlog::pattern_formatter reference(pattern);
  auto ours = mysfits::log::make_line_formatter();
  using namespace std::chrono;
  std::vector<system_clock::time_point> times = {
      // (Not the epoch itself: spdlog's own date cache starts at second 0 and prints a zero date
      // there.)
      system_clock::time_point{milliseconds(86400001)},          // 1970-01-02T00:00:00.001 UTC
      system_clock::time_point{milliseconds(1798761599999)},     // 2026-12-31T23:59:59.999 UTC
      system_clock::time_point{milliseconds(1798761600000)},     // a second (and year) later
      system_clock::time_point{microseconds(1764424234567891)},  // sub-millisecond part
      system_clock::now(),
  };
  for (auto t : times) {
    for (auto level : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                       spdlog::level::warn, spdlog::level::err, spdlog::level::critical}) {
      for (std::string_view text : {"op=GetItem table=T status=200 duration_ms=0.421", ""}) {
        spdlog::details::log_msg msg(t, spdlog::source_loc{}, "mysfits-table", level, text);
        std::size_t rs = 0, re = 0, os = 0, oe = 0;
        auto want = render(reference, msg, &rs, &re);
        auto got = render(*ours, msg, &os, &oe);
        EXPECT_EQ(got, want);
        EXPECT_EQ(os, rs);
        EXPECT_EQ(oe, re);
      }
    }
  }
}

// Threads formatting at once with one instance each get their own date (no shared cache).
TEST(LineFormatter, ThreadsFormatAtOnce) {
  auto ours = mysfits::log::make_line_formatter();
  spdlog::pattern_formatter reference(pattern);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 2000; ++k) {
        // Each thread walks its own run of seconds, so their cached dates differ.
        std::chrono::system_clock::time_point t{
            std::chrono::milliseconds(1764424234000LL + i * 86400000LL + k * 1001LL)};
        spdlog::details::log_msg msg(t, spdlog::source_loc{}, "n", spdlog::level::info, "x");
        spdlog::memory_buf_t a;
        ours->format(msg, a);
        spdlog::details::log_msg msg2(t, spdlog::source_loc{}, "n", spdlog::level::info, "x");
        spdlog::memory_buf_t b;
        spdlog::pattern_formatter r(pattern);
        r.format(msg2, b);
        if (std::string(a.data(), a.size()) != std::string(b.data(), b.size())) ++mismatches[i];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

// With stderr not a terminal, init() buffers lines and a flush writes them, in order, formatted.
TEST(Log, BufferedStderrLinesInOrder) {
  auto lines = stderr_lines("logtest", [] {
    for (int i = 0; i < 3; ++i) spdlog::info("line {}", i);
    spdlog::warn("a warning");  // written at once
  });
  ASSERT_EQ(lines.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    // "YYYY-MM-DDTHH:MM:SS.mmm logtest info line i"
    ASSERT_GT(lines[i].size(), 24u);
    EXPECT_EQ(lines[i][4], '-');
    EXPECT_EQ(lines[i][10], 'T');
    EXPECT_EQ(lines[i][19], '.');
    EXPECT_EQ(lines[i].substr(23), " logtest info line " + std::to_string(i));
  }
  EXPECT_EQ(lines[3].substr(23), " logtest warning a warning");
}

// The sink formats lines outside its lock; switching its formatter while other threads log
// must not lose or tear a line, and must not race (ThreadSanitizer: `cmake --build --preset
// tsan --target common_test`). Lines come out whole in either form.
TEST(Log, FormatterSwitchWhileThreadsLog) {
  constexpr int threads = 4, per_thread = 2000;
  auto lines = stderr_lines("logswitch", [] {
    std::atomic<bool> go{false};
    std::vector<std::thread> loggers;
    for (int t = 0; t < threads; ++t)
      loggers.emplace_back([&go, t] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < per_thread; ++i) spdlog::info("t{} n{}", t, i);
      });
    go = true;
    for (int k = 0; k < 200; ++k) {
      spdlog::set_pattern("%v");
      spdlog::default_logger()->set_formatter(mysfits::log::make_line_formatter());
    }
    for (auto& t : loggers) t.join();
  });
  int whole = 0;
  for (const auto& line : lines)
    if (line.rfind("t", 0) == 0 || line.find(" logswitch info t") == 23) ++whole;
  EXPECT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
  EXPECT_EQ(whole, static_cast<int>(lines.size()));
}

// A repeating condition is logged once per period: the first at once, then one standing for
// every occurrence passed over, never two within a period.
TEST(LogEvery, OncePerPeriodWithTheCountPassedOver) {
  using namespace std::chrono;
  mysfits::log::every every(seconds(1));
  const steady_clock::time_point t0 = steady_clock::now();
  EXPECT_EQ(every.occurred(t0), 1u);
  EXPECT_EQ(every.occurred(t0 + milliseconds(50)), 0u);
  EXPECT_EQ(every.occurred(t0 + milliseconds(100)), 0u);
  EXPECT_EQ(every.occurred(t0 + milliseconds(999)), 0u);
  EXPECT_EQ(every.occurred(t0 + seconds(1)), 4u);  // itself and the three passed over
  EXPECT_EQ(every.occurred(t0 + seconds(1) + milliseconds(1)), 0u);
  EXPECT_EQ(every.occurred(t0 + seconds(5)), 2u);  // a quiet spell: logged at once
  EXPECT_EQ(mysfits::log::every::passed_over(1), "");
  EXPECT_EQ(mysfits::log::every::passed_over(4), " (4 times since the last warning)");
}
