// See hooks.h.

#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vector>

#include "fd.h"
#include "text.h"

namespace tsswarm {

namespace {

long NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int RunHook(const Hook& h, const std::string& stateJson, std::string& message) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    message = "pipe: " + ErrnoText(errno);
    return errno;
  }
  Fd readEnd(p[0]), writeEnd(p[1]);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = h.env;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    message = "fork: " + ErrnoText(errno);
    return errno;
  }
  if (pid == 0) {
    dup2(readEnd.get(), 0);
    execve(h.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  readEnd.reset();
  signal(SIGPIPE, SIG_IGN);  // a hook that does not read its stdin is not a failure of ours
  WriteAll(writeEnd.get(), stateJson);
  writeEnd.reset();
  long deadline = h.timeout > 0 ? NowMs() + h.timeout * 1000L : -1;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, deadline < 0 ? 0 : WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      message = "waitpid: " + ErrnoText(errno);
      return errno;
    }
    if (deadline >= 0 && NowMs() > deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      message = h.path + ": timed out after " + std::to_string(h.timeout) + "s";
      return ETIMEDOUT;
    }
    if (r == 0) usleep(1000);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  message = h.path + (WIFEXITED(status) ? ": exit status " + std::to_string(WEXITSTATUS(status))
                                        : ": killed by signal " + std::to_string(WTERMSIG(status)));
  return ECANCELED;
}

}  // namespace

int RunHooks(const OciConfig& cfg, const std::string& kind, const std::string& stateJson, std::string& message,
             bool keepGoing) {
  auto it = cfg.hooks.find(kind);
  if (it == cfg.hooks.end()) return 0;
  int first = 0;
  for (const Hook& h : it->second) {
    std::string why;
    if (int err = RunHook(h, stateJson, why)) {
      if (first == 0) first = err, message = kind + " hook " + why;
      if (!keepGoing) return err;
    }
  }
  return first;
}

}  // namespace tsswarm
