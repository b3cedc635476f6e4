// See init.h. Every signal is blocked and taken with sigtimedwait, so nothing is lost between the
// fork and the wait loop: SIGCHLD reaps, everything else goes to the child.

#include "init.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace tsswarm {

int InitMain(int argc, char** argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    fprintf(stderr, "docker-init: no command\n");
    return 127;
  }
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  // The runtime starts us with every signal blocked already (container.cc), so none is lost.
  sigprocmask(SIG_BLOCK, &all, nullptr);
  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "docker-init: fork: %s\n", strerror(errno));
    return 127;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Its own process group in the foreground of the terminal, if there is one, as tini does.
    setpgid(0, 0);
    execvp(argv[first], argv + first);
    fprintf(stderr, "docker-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(127);
  }
  // Not PID 1 (a pid namespace shared with others): still reap our descendants.
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  for (;;) {
    timespec timeout{1, 0};
    siginfo_t info{};
    int sig = sigtimedwait(&all, &info, &timeout);
    if (sig > 0 && sig != SIGCHLD) {
      // The child's whole process group, so a shell's pipeline stops too.
      if (kill(-child, sig) < 0) kill(child, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      pid_t p = waitpid(-1, &status, WNOHANG);
      if (p <= 0) break;
      if (p == child) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
}

}  // namespace tsswarm
