// process_supervisor: posix_spawn'd tasks in their own process groups, logs to files,
// SIGTERM-then-SIGKILL stops.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "mysfits/cloud/runtime.h"

namespace mysfits::cloud {
namespace fs = std::filesystem;

process_supervisor::process_supervisor(std::chrono::milliseconds stop_timeout)
    : stop_timeout_(stop_timeout) {}

process_supervisor::~process_supervisor() {
  auto pids = running_;
  for (const auto& [pid, alive] : pids) {
    if (alive) stop(pid);
  }
}

result<int> process_supervisor::start(const process_spec& spec) {
  if (spec.argv.empty()) return error::invalid_argument("a task needs a command");
  std::error_code ec;
  if (!spec.working_dir.empty()) fs::create_directories(spec.working_dir, ec);
  if (!spec.log_file.empty()) fs::create_directories(spec.log_file.parent_path(), ec);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  auto log = spec.log_file.empty() ? std::string("/dev/null") : spec.log_file.string();
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  if (!spec.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, spec.working_dir.c_str());
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group, so stop() reaches whatever the task starts; default signal mask.
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return error::io("cannot start " + spec.argv[0] + ": " + std::strerror(rc));
  }
  running_[pid] = true;
  return static_cast<int>(pid);
}

void process_supervisor::stop(int pid) {
  auto it = running_.find(pid);
  if (it == running_.end() || !it->second) return;
  ::kill(-pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + stop_timeout_;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      ::kill(-pid, SIGKILL);  // anything the task left behind in its group
      running_.erase(pid);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  running_.erase(pid);
}

std::map<int, int> process_supervisor::reap() {
  std::map<int, int> exited;
  for (auto it = running_.begin(); it != running_.end();) {
    int status = 0;
    pid_t r = ::waitpid(it->first, &status, WNOHANG);
    if (r == it->first || (r < 0 && errno == ECHILD)) {
      ::kill(-it->first, SIGKILL);
      exited[it->first] = status;
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
  return exited;
}

bool process_supervisor::is_running(int pid) const { return running_.contains(pid); }

}  // namespace mysfits::cloud
