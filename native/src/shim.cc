// The shim (see shim.h). Its sequence:
//
//   the stdio plan (process.terminal without a console socket, the stdin annotation) ->
//   state.json "creating" (the cgroup it is about to make) -> cgroup with limits and device rules ->
//   the stdio (log-relay.h: a pipe and the file, or /dev/null, when config.json's annotations ask;
//   a stdin pipe for tsswarm.stdin; the socket pair a pty master comes back on) -> open the
//   namespace paths -> clone(new namespaces) [clone3 straight into the cgroup on v2; PID 1 inherits
//   the log as its stdout and stderr, the stdin pipe as its stdin] -> uid/gid maps -> join the
//   cgroup (v1) -> "go" -> PID 1 builds the container [step 6: its terminal, the master sent to the
//   console socket or to us] -> "ready" -> the pty master -> state.json "created" -> (create:
//   report, wait for `start` on start.sock) -> "start" -> EOF on the sync socket = execve succeeded
//   -> state.json "running" -> report -> wait (relaying the pipe or the pty to the log, then
//   draining it; stdin held open) -> state.json "stopped"
//
// Joining the cgroup: moving a task into a cgroup by writing cgroup.procs takes the global
// cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period (about 10ms on an idle
// machine, the largest single cost of a start). On cgroup v2 clone3(CLONE_INTO_CGROUP) creates PID 1
// inside the cgroup instead, which only takes the read side; the writes remain the v1 path and the
// fallback for kernels without clone3 (< 5.7).
//
// Any failure undoes what exists (PID 1, the cgroup, the state directory) before it is reported, so
// a failed create leaves nothing behind.

#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "fd.h"
#include "hooks.h"
#include "log-relay.h"
#include "proc.h"
#include "seccomp-cache.h"
#include "state.h"
#include "text.h"

namespace tsswarm {

namespace {

constexpr const char* kStartSocket = "start.sock";

// struct clone_args of clone3(2), spelled out to avoid mixing <linux/sched.h> with glibc's <sched.h>.
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

// fork-like clone3: returns 0 in the child, which runs on a copy of this stack. The child must not
// rely on glibc's cached thread id (raise/abort); ContainerInit only makes raw syscalls and _exits.
pid_t CloneIntoCgroup(int namespaces, int cgroupFd) {
  CloneArgs ca{};
  ca.flags = static_cast<uint64_t>(namespaces) | kCloneIntoCgroup;
  ca.exit_signal = SIGCHLD;
  ca.cgroup = static_cast<uint64_t>(cgroupFd);
  return static_cast<pid_t>(syscall(SYS_clone3, &ca, sizeof ca));
}

void Report(int fd, const std::string& line) {
  if (fd < 0) return;
  WriteAll(fd, line + "\n");
}

std::string ErrLine(int err, const std::string& step, const std::string& message) {
  return "err\t" + std::to_string(err) + "\t" + OneLine(step) + "\t" + OneLine(message);
}

std::string IdMap(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const IdMapping& m : maps)
    out += std::to_string(m.containerId) + " " + std::to_string(m.hostId) + " " + std::to_string(m.size) + "\n";
  return out;
}


void RemoveStateDir(const std::string& dir) {
  for (const char* f : {"state.json", "state.json.tmp", kStartSocket}) unlink((dir + "/" + f).c_str());
  rmdir(dir.c_str());
}

volatile sig_atomic_t gForwardPid = 0;

void ForwardSignal(int sig) {
  if (gForwardPid > 0) kill(gForwardPid, sig);
}

// Reads the child's one record; false when it failed (the record says why), true when ready.
bool ReadInitRecord(int fd, InitRecord& r) {
  ssize_t n;
  // A SOCK_SEQPACKET peer that exited with our "go" unread reports ECONNRESET before the record it
  // queued: read again to get the record.
  do n = read(fd, &r, sizeof r);
  while (n < 0 && (errno == EINTR || errno == ECONNRESET));
  if (n == static_cast<ssize_t>(sizeof r)) {
    r.step[sizeof r.step - 1] = 0;
    r.message[sizeof r.message - 1] = 0;
    return r.kind == 0;
  }
  r = InitRecord{};
  r.kind = 1;
  r.err = n < 0 ? errno : EPROTO;
  snprintf(r.step, sizeof r.step, "init");
  snprintf(r.message, sizeof r.message, "container init exited before it was ready");
  return false;
}

// Waits for a start request on the listening socket while watching PID 1. Returns the connection,
// or -1 when PID 1 died first.
int AwaitStart(int listenFd, pid_t pid) {
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  for (;;) {
    pollfd fds[2] = {{listenFd, POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    int n = poll(fds, pidfd.valid() ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (fds[1].revents & POLLIN) return -1;
    if (fds[0].revents & POLLIN) {
      int c = accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      char req = 0;
      ssize_t r = read(c, &req, 1);
      if (r == 1 && req == kMsgStart) return c;
      close(c);
    }
  }
}

}  // namespace

int RunShim(const ShimOptions& o) {
  const OciConfig& cfg = *o.cfg;
  State st;
  st.id = o.id;
  st.status = "creating";
  st.bundle = cfg.bundle;
  st.rootfs = cfg.rootPath;
  st.created = NowRfc3339();
  st.shimPid = getpid();
  st.shimStartTime = ProcessStartTime(st.shimPid);
  st.annotations = cfg.annotations;

  auto fail = [&](int err, const std::string& step, const std::string& message, pid_t child) {
    if (child > 0) {
      kill(child, SIGKILL);
      while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    std::string ignored;
    if (!st.cgroupDirs.empty()) RemoveCgroup(CgroupSetOf(st), 5000, ignored);
    RemoveStateDir(o.stateDir);
    Report(o.reportFd, ErrLine(err, step, message));
    if (o.foreground && o.reportFd < 0) fprintf(stderr, "tsswarm-runtime: %s: %s\n", step.c_str(), message.c_str());
    return 1;
  };

  std::string problem;
  // A terminal nobody takes (no console socket) is the shim's to relay into the log: the agent's
  // `run --detach --report-fd`. In the foreground PID 1 refuses it as before: this process would
  // have to proxy its own terminal to the pty, which it does not do.
  StdioPlan stdio;
  if (int err = PlanStdio(cfg, o.consoleSocket < 0 && !o.foreground, stdio, problem)) return fail(err, "config.json", problem, 0);

  CgroupSet cg;
  if (!PlanCgroup(o.cgroupRoot, cfg.cgroupsPath, o.id, cg, problem)) return fail(EINVAL, "cgroup", problem, 0);
  st.cgroupVersion = cg.version;
  st.cgroupDirs = cg.dirs;
  st.cgroupHierarchies = cg.hierarchies;
  st.devicesDir = cg.devicesDir;
  st.freezerDir = cg.freezerDir;
  // Before anything exists outside the state dir: whoever finds it later knows what to undo.
  if (!WriteState(o.stateDir, st)) return fail(errno, "state", o.stateDir + ": " + ErrnoText(errno), 0);
  if (int err = CreateCgroup(o.cgroupRoot, cg, cfg.resources, problem)) {
    // CreateCgroup removed what it made; nothing to undo but the state dir.
    st.cgroupDirs.clear();
    return fail(err, "cgroup", problem, 0);
  }

  // The filter is compiled here, once (or taken from the cache); PID 1 only loads it.
  SeccompProgram seccomp;
  if (cfg.hasSeccomp) {
    int err = o.seccompCacheDir.empty() ? CompileSeccomp(cfg.seccomp, seccomp, problem)
                                        : CachedSeccompProgram(cfg.seccomp, o.seccompCacheDir, seccomp, problem);
    if (err != 0) {
      std::string ignored;
      RemoveCgroup(CgroupSetOf(st), 5000, ignored);
      st.cgroupDirs.clear();
      return fail(err, "seccomp", problem, 0);
    }
  }

  // Where the container's stdout and stderr go: unless the config says, they are ours (the caller's
  // file); its stdin is ours too (the agent's /dev/null) unless the config keeps it open.
  LogRelay logs;
  std::string logStep;
  if (int err = logs.Prepare(cfg.log, stdio, logStep, problem)) return fail(err, logStep, problem, 0);

  // Namespace paths are opened here: a wrong path is reported before any namespace exists.
  InitContext ctx;
  ctx.cfg = &cfg;
  ctx.consoleSocket = o.consoleSocket >= 0 ? o.consoleSocket : logs.consoleFd();
  ctx.reportFd = o.reportFd;
  ctx.seccomp = cfg.hasSeccomp ? &seccomp : nullptr;
  ctx.cgroupVersion = cg.version;
  ctx.cgroupHierarchies = cg.hierarchies;
  ctx.cgroupMountOptions = cg.mountOptions;
  ctx.cgroupHostDirs = cg.dirs;
  std::vector<Fd> nsFds;
  bool joinsUser = false;
  for (const Namespace& n : cfg.namespaces) {
    if (n.path.empty()) {
      ctx.nsFds.push_back(-1);
      continue;
    }
    nsFds.emplace_back(open(n.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!nsFds.back().valid()) return fail(errno, "open " + n.type + " namespace", n.path + ": " + ErrnoText(errno), 0);
    if (n.flag == CLONE_NEWUSER) joinsUser = true;
    // A pid namespace applies to the children of the process that joins it, and a network, IPC or
    // UTS namespace of the host's user namespace cannot be joined from a new user namespace (no
    // CAP_SYS_ADMIN over it): the shim joins these itself, so PID 1 is born in them. Nothing the
    // shim does after this depends on them.
    bool here = n.flag == CLONE_NEWPID || n.flag == CLONE_NEWNET || n.flag == CLONE_NEWIPC || n.flag == CLONE_NEWUTS;
    if (here && setns(nsFds.back().get(), n.flag) < 0)
      return fail(errno, "setns " + n.type, n.path + ": " + ErrnoText(errno), 0);
    ctx.nsFds.push_back(here ? -1 : nsFds.back().get());
  }
  int flags = 0;
  for (const Namespace& n : cfg.namespaces)
    if (n.path.empty()) flags |= n.flag;
  // Joining a user namespace must come before making the others, so that it owns them: the child
  // does both (ContainerInit step 1). A cgroup namespace needs the cgroup first.
  if (joinsUser) flags &= CLONE_NEWPID;
  int wantCgroupNs = flags & CLONE_NEWCGROUP;
  flags &= ~CLONE_NEWCGROUP;

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return fail(errno, "socketpair", ErrnoText(errno), 0);
  Fd parentEnd(sv[0]), childEnd(sv[1]);
  ctx.syncFd = childEnd.get();

  pid_t pid = -1;
  bool joined = false;
  if (cg.version == 2) {
    Fd cgroupFd(open(cg.dirs[0].c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!cgroupFd.valid()) return fail(errno, "cgroup join", cg.dirs[0] + ": " + ErrnoText(errno), 0);
    ctx.cloneFlags = flags | wantCgroupNs;
    {
      StdioSwap swap(logs.stdinFd(), logs.stdoutFd(), logs.stderrFd());
      pid = CloneIntoCgroup(flags | wantCgroupNs, cgroupFd.get());
      if (pid == 0) ContainerInit(&ctx);  // never returns
    }
    if (pid > 0) joined = true;
    // EBADF: not a cgroup2 directory (a test's fake tree); the cgroup.procs writes below still work.
    else if (errno != ENOSYS && errno != E2BIG && errno != EINVAL && errno != EBADF) return fail(errno, "clone3", ErrnoText(errno), 0);
  }
  if (pid < 0) {
    ctx.cloneFlags = flags;
    // The child never returns to this stack frame: it execs or _exits, so a plain mapping suffices.
    constexpr size_t kStackSize = 1 << 20;
    void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return fail(errno, "mmap stack", ErrnoText(errno), 0);
    {
      StdioSwap swap(logs.stdinFd(), logs.stdoutFd(), logs.stderrFd());
      pid = clone(ContainerInit, static_cast<char*>(stack) + kStackSize, flags | SIGCHLD, &ctx);
    }
    int err = errno;
    munmap(stack, kStackSize);
    if (pid < 0) return fail(err, "clone", ErrnoText(err), 0);
  }
  childEnd.reset();
  logs.Started();
  nsFds.clear();
  if (o.consoleSocket >= 0) close(o.consoleSocket);

  // The child sets up its mounts while we map ids and join the cgroup, so when a step here fails
  // because the child is already gone, the child's own failure record is the one worth reporting.
  auto abandon = [&](int err, const std::string& step, const std::string& message) {
    InitRecord early{};
    ssize_t got;
    do got = recv(parentEnd.get(), &early, sizeof early, MSG_DONTWAIT);
    while (got < 0 && (errno == EINTR || errno == ECONNRESET));
    if (got == static_cast<ssize_t>(sizeof early) && early.kind == 1) {
      early.step[sizeof early.step - 1] = 0;
      early.message[sizeof early.message - 1] = 0;
      return fail(early.err, early.step, early.message, pid);
    }
    return fail(err, step, message, pid);
  };

  if (cfg.hasNamespace(CLONE_NEWUSER) && !joinsUser) {
    std::string base = "/proc/" + std::to_string(pid);
    if (int err = WriteFile(base + "/uid_map", IdMap(cfg.uidMappings))) return abandon(err, "uid_map", ErrnoText(err));
    if (int err = WriteFile(base + "/gid_map", IdMap(cfg.gidMappings))) return abandon(err, "gid_map", ErrnoText(err));
  }
  if (!joined) {
    if (int err = JoinCgroup(cg, pid, problem)) return abandon(err, "cgroup join", problem);
  }
  if (write(parentEnd.get(), &kMsgGo, 1) != 1) return abandon(errno, "sync", ErrnoText(errno));

  InitRecord rec{};
  if (!ReadInitRecord(parentEnd.get(), rec)) return fail(rec.err, rec.step, rec.message, pid);
  if (int err = logs.TakeTerminal(logStep, problem)) return fail(err, logStep, problem, pid);

  st.pid = pid;
  st.pidStartTime = ProcessStartTime(pid);
  st.status = "created";
  WriteState(o.stateDir, st);
  // The runtime-spec's create hooks, in the runtime's namespace; a failing one stops the container.
  for (const char* kind : {"createRuntime", "createContainer"})
    if (int err = RunHooks(cfg, kind, StateJson(st, "created", false), problem)) return fail(err, "hook", problem, pid);

  // Nothing of ours beyond what the container holds keeps the caller's stdio open.
  if (!o.foreground) {
    Fd null(open("/dev/null", O_RDWR | O_CLOEXEC));
    for (int fd = 0; fd < 3; fd++) dup2(null.get(), fd);
  }

  int startConn = -1;
  if (!o.startNow) {
    Fd listener(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", kStartSocket);
    // Relative to the state dir, whatever its length (sun_path holds 108 bytes).
    if (!listener.valid() || chdir(o.stateDir.c_str()) < 0 ||
        bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || listen(listener.get(), 4) < 0)
      return fail(errno, "start socket", ErrnoText(errno), pid);
    chmod(kStartSocket, 0600);
    Report(o.reportFd, "ok\t" + std::to_string(st.shimPid) + "\t" + std::to_string(pid));
    if (o.reportFd >= 0) close(o.reportFd);
    startConn = AwaitStart(listener.get(), pid);
    unlink(kStartSocket);
    if (chdir("/") < 0) {
    }
    if (startConn < 0) {
      // Killed (or deleted) before it was started.
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      st.status = "stopped";
      st.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      st.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      WriteState(o.stateDir, st);
      return 0;
    }
  }

  // prestart hooks run when the container is started, before its process (runtime-spec).
  if (int err = RunHooks(cfg, "prestart", StateJson(st, "created", false), problem)) {
    if (startConn >= 0) {
      // The container is stopped and deleted (the lifecycle goes on at delete): nothing is left.
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      std::string ignored;
      RemoveCgroup(CgroupSetOf(st), 5000, ignored);
      RemoveStateDir(o.stateDir);
      WriteAll(startConn, "err\t" + std::to_string(err) + "\thook\t" + OneLine(problem));
      close(startConn);
      return 1;
    }
    return fail(err, "hook", problem, pid);
  }
  if (write(parentEnd.get(), &kMsgStart, 1) != 1) return fail(errno, "sync", ErrnoText(errno), pid);
  InitRecord failure{};
  ssize_t n;
  do n = read(parentEnd.get(), &failure, sizeof failure);
  while (n < 0 && (errno == EINTR || errno == ECONNRESET));
  std::string outcome;
  if (n != 0) {
    InitRecord r{};
    if (n == static_cast<ssize_t>(sizeof r)) {
      failure.step[sizeof failure.step - 1] = 0;
      failure.message[sizeof failure.message - 1] = 0;
      r = failure;
    } else {
      r.err = n < 0 ? errno : EPROTO;
      snprintf(r.step, sizeof r.step, "sync");
      snprintf(r.message, sizeof r.message, "short read from container init");
    }
    std::string line = ErrLine(r.err, r.step, r.message);
    if (startConn >= 0) {
      WriteAll(startConn, line);
      close(startConn);
      // The process never ran: the container is stopped, with its state kept for `delete`.
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      st.status = "stopped";
      st.exitCode = 127;
      WriteState(o.stateDir, st);
      return 1;
    }
    return fail(r.err, r.step, r.message, pid);
  }
  parentEnd.reset();
  st.status = "running";
  WriteState(o.stateDir, st);
  // A failing poststart hook is only a warning (runtime-spec): the container runs on.
  if (RunHooks(cfg, "poststart", StateJson(st, "running", false), problem, true) != 0 && o.foreground)
    fprintf(stderr, "tsswarm-runtime: warning: %s\n", problem.c_str());
  if (startConn >= 0) {
    WriteAll(startConn, "ok");
    close(startConn);
  } else {
    Report(o.reportFd, "ok\t" + std::to_string(st.shimPid) + "\t" + std::to_string(pid));
    if (o.reportFd >= 0) close(o.reportFd);
  }

  if (o.foreground) {
    gForwardPid = pid;
    struct sigaction sa {};
    sa.sa_handler = ForwardSignal;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) sigaction(s, &sa, nullptr);
  }
  // The exit is recorded only once the log holds everything the container wrote.
  int status = 0;
  if (logs.Wait(pid, status) != 0) {
    st.status = "stopped";
    st.exitCode = 255;
    WriteState(o.stateDir, st);
    return 255;
  }
  st.status = "stopped";
  st.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  st.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  WriteState(o.stateDir, st);
  return st.exitCode;
}

int RequestStart(const std::string& stateDir, std::string& message) {
  Fd dir(open(stateDir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    message = stateDir + ": " + ErrnoText(errno);
    return errno;
  }
  Fd s(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dir.get(), kStartSocket);
  if (!s.valid() || connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    message = "the container is not waiting to be started";
    return errno == ENOENT || errno == ECONNREFUSED ? EINVAL : errno;
  }
  if (write(s.get(), &kMsgStart, 1) != 1) {
    message = "start request: " + ErrnoText(errno);
    return errno;
  }
  char buf[600] = {};
  ssize_t n;
  do n = read(s.get(), buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  std::string reply = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  if (reply == "ok") return 0;
  std::vector<std::string> f = Split(reply, '\t');
  if (f.size() >= 4 && f[0] == "err") {
    message = f[2] + ": " + ErrnoText(atoi(f[1].c_str())) + " (" + f[3] + ")";
    int err = atoi(f[1].c_str());
    return err != 0 ? err : EIO;
  }
  message = "the shim did not answer the start request";
  return EIO;
}

}  // namespace tsswarm
