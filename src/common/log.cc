// Logging setup; see include/mysfits/common/log.h.
#include "mysfits/common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

namespace mysfits::log {

namespace {

// Renders "%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v" (local time, as spdlog's pattern formatter does)
// without it: the pattern formatter walks a list of flag formatters with a virtual call each and
// keeps its date cache in the formatter, so a sink must format under its lock. This one keeps the
// date text of the current second per thread, so any thread may format at once, unlocked; the
// table writes a line per request from every request thread.
class line_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto since = msg.time.time_since_epoch();
    auto secs = floor<seconds>(since);
    struct date_cache {
      std::int64_t secs = std::numeric_limits<std::int64_t>::min();
      char text[32] = {};
      std::size_t size = 0;
    };
    thread_local date_cache date;
    if (date.secs != secs.count()) {
      std::time_t t = static_cast<std::time_t>(secs.count());
      std::tm tm{};
      ::localtime_r(&t, &tm);
      date.size = std::strftime(date.text, sizeof date.text, "%Y-%m-%dT%H:%M:%S", &tm);
      date.secs = secs.count();
    }
    auto ms = static_cast<unsigned>(duration_cast<milliseconds>(since - secs).count());
    char frac[5] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                    static_cast<char>('0' + ms % 10), ' '};
    dest.append(date.text, date.text + date.size);
    dest.append(frac, frac + sizeof frac);
    dest.append(msg.logger_name.begin(), msg.logger_name.end());
    dest.push_back(' ');
    msg.color_range_start = dest.size();
    auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.begin(), level.end());
    msg.color_range_end = dest.size();
    dest.push_back(' ');
    dest.append(msg.payload.begin(), msg.payload.end());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<line_formatter>();
  }
};

// stderr when it is not a terminal (a log file, a pipe to a collector): lines are gathered in a
// buffer and written with one write(2) when it holds 64 KiB, when a warning or error arrives,
// and at least every 100 ms (flusher thread), instead of one write per line under the sink's
// lock. A process killed with -9 loses at most the last 100 ms of info lines. A line is
// formatted by its own thread before the lock (with line_formatter; a formatter set later is
// used under the lock), and the lock is held only to append it: the write(2) happens outside, under
// a second lock that keeps the batches in order.
class buffered_stderr_sink final : public spdlog::sinks::sink {
 public:
  buffered_stderr_sink() {
    pending_.reserve(flush_bytes * 2);
    writing_.reserve(flush_bytes * 2);
  }

  void log(const spdlog::details::log_msg& msg) override {
    if (!should_log(msg.level)) return;
    thread_local spdlog::memory_buf_t formatted;
    formatted.clear();
    bool urgent = msg.level >= spdlog::level::warn;
    {
      std::unique_lock lock(mu_, std::defer_lock);
      if (use_line_.load(std::memory_order_acquire)) {
        line_.format(msg, formatted);  // never replaced: safe outside the lock
        lock.lock();
      } else {
        lock.lock();
        if (other_)
          other_->format(msg, formatted);
        else
          line_.format(msg, formatted);  // switched back to line_formatter meanwhile
      }
      pending_.append(formatted.data(), formatted.size());
      if (pending_.size() < flush_bytes && !urgent) return;
    }
    flush();
  }

  void flush() override {
    std::lock_guard write_lock(write_mu_);
    {
      std::lock_guard lock(mu_);
      pending_.swap(writing_);
    }
    std::size_t done = 0;
    while (done < writing_.size()) {
      ssize_t n = ::write(STDERR_FILENO, writing_.data() + done, writing_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stderr is gone: drop the lines rather than block the process
      done += static_cast<std::size_t>(n);
    }
    writing_.clear();
  }

  void set_pattern(const std::string& pattern) override {
    set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
  }

  void set_formatter(std::unique_ptr<spdlog::formatter> f) override {
    std::lock_guard lock(mu_);
    if (dynamic_cast<line_formatter*>(f.get()) != nullptr) {
      use_line_.store(true, std::memory_order_release);
      other_.reset();
    } else {
      other_ = std::move(f);
      use_line_.store(false, std::memory_order_release);
    }
  }

 private:
  static constexpr std::size_t flush_bytes = 64 * 1024;
  // Lines are formatted by line_ (keeps its date text per thread: any thread may use it at once,
  // outside the lock) unless a pattern or another formatter was set: other_, used under mu_.
  // line_ is never replaced, so a thread that read use_line_ just before a switch formats one
  // more line the old way, never with a formatter being destroyed.
  line_formatter line_;
  std::atomic<bool> use_line_{true};
  std::mutex mu_;  // pending_, other_
  std::unique_ptr<spdlog::formatter> other_;
  std::string pending_;
  std::mutex write_mu_;  // writing_; one flush at a time, so batches stay in order
  std::string writing_;
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_line_formatter() {
  return std::make_unique<line_formatter>();
}

void init(std::string_view process_name, std::string_view level) {
  std::shared_ptr<spdlog::logger> logger;
  if (::isatty(STDERR_FILENO)) {
    logger = spdlog::stderr_color_mt(std::string(process_name));
  } else {
    // Lives as long as the process: the flusher thread and the atexit hook use it until the end.
    static auto* sink =
        new std::shared_ptr<buffered_stderr_sink>(std::make_shared<buffered_stderr_sink>());
    logger = std::make_shared<spdlog::logger>(std::string(process_name), *sink);
    spdlog::register_logger(logger);
    static std::once_flag started;
    std::call_once(started, [] {
      std::thread([s = sink->get()] {
        for (;;) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          s->flush();
        }
      }).detach();
      std::atexit([] { (*sink)->flush(); });
    });
  }
  // The pattern "%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v", rendered by line_formatter.
  logger->set_formatter(std::make_unique<line_formatter>());
  std::string lvl(level);
  if (const char* env = std::getenv("MYSFITS_LOG_LEVEL")) lvl = env;
  auto parsed = spdlog::level::from_str(lvl);
  logger->set_level(parsed == spdlog::level::off && lvl != "off" ? spdlog::level::info : parsed);
  spdlog::set_default_logger(logger);
}

}  // namespace mysfits::log
