// Logging setup; see include/mysfits/common/log.h.
#include "mysfits/common/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace mysfits::log {

namespace {

// stderr when it is not a terminal (a log file, a pipe to a collector): lines are gathered in a
// buffer and written with one write(2) when it holds 64 KiB, when a warning or error arrives,
// and at least every 100 ms (flusher thread), instead of one write per line under the sink's
// lock. A process killed with -9 loses at most the last 100 ms of info lines.
class buffered_stderr_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  buffered_stderr_sink() { pending_.reserve(flush_bytes * 2); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    pending_.append(formatted.data(), formatted.size());
    if (pending_.size() >= flush_bytes || msg.level >= spdlog::level::warn) flush_();
  }
  void flush_() override {
    std::size_t done = 0;
    while (done < pending_.size()) {
      ssize_t n = ::write(STDERR_FILENO, pending_.data() + done, pending_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // stderr is gone: drop the lines rather than block the process
      done += static_cast<std::size_t>(n);
    }
    pending_.clear();
  }

 private:
  static constexpr std::size_t flush_bytes = 64 * 1024;
  std::string pending_;
};

}  // namespace

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
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n %^%l%$ %v");
  std::string lvl(level);
  if (const char* env = std::getenv("MYSFITS_LOG_LEVEL")) lvl = env;
  auto parsed = spdlog::level::from_str(lvl);
  logger->set_level(parsed == spdlog::level::off && lvl != "off" ? spdlog::level::info : parsed);
  spdlog::set_default_logger(logger);
}

}  // namespace mysfits::log
