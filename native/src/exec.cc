// tsswarm-runtime exec: a new process inside a running container, as `runc exec` does.
//
//   exec [-t] [--console-socket S] [-d] [-e K=V]... [--cwd DIR] [-u UID[:GID]] [--additional-gids G]...
//        [--cap CAP]... [--no-new-privs] [--pid-file F] [--preserve-fds N] ID [--] CMD [ARGS...]
//   exec [-t|-d|--console-socket|--pid-file|--preserve-fds ...] -p process.json ID
//
// The process is the container's config.json process (env, cwd, user, capabilities, rlimits,
// no_new_privs, oom_score_adj, umask) with the flags applied as runc applies them: -e adds or replaces
// a variable, --cap adds to bounding/effective/permitted (and ambient when the config has inheritable
// ones), -u replaces the uid (and the gid when given), --additional-gids adds groups. -p replaces the
// whole process with a runtime-spec `process` object and takes none of those flags. The confinement
// that belongs to the container (namespaces, cgroup, seccomp, root) always comes from the container.
//
// Three processes: E (this one), C (an intermediate child), G (the process). Each step fails as one
// record (errno, step, message) on a CLOEXEC SOCK_SEQPACKET pair, which E prints as one line and
// exits 255 with; E seeing EOF on the pair means G's execve succeeded.
//
//   E  1. state.json says running (paused and stopped are refused); config.json from its bundle
//      2. the seccomp filter compiled here, on the host (libseccomp; the cache <root>/.seccomp-cache)
//      3. /proc/<pid>/ns/{user,cgroup,ipc,uts,net,pid,mnt} opened where they differ from ours, and
//         /proc/<pid>/root; the pid is checked again afterwards, so they are the container's
//      4. fork C
//   C  5. its own pid into every cgroup directory of the container (G is born inside)
//      6. setns: user first (it owns the others; then we are its root), cgroup, ipc, uts, net, pid,
//         mnt last. Joining a mount namespace puts the caller at that namespace's root, which after
//         pivot_root is the container's; that is checked against /proc/<pid>/root, with a chroot
//         into it otherwise
//      7. clone(CLONE_PARENT): G is E's child (so E can wait for it, as runc's nsexec does) and the
//         first process made after setns(pid), inside the container's pid namespace; C reports G's
//         pid and exits
//   G  8. setsid; with -t a pty from the container's devpts (its /dev/ptmx), sized as E's terminal
//         when E proxies it (before the process can ask), the master to the console socket or
//         back to E, the slave as stdio and controlling terminal
//      9. rlimits, oom_score_adj, cwd; the executable looked up in the process's PATH (else the
//         default one, as container.cc does); fds 3..3+N-1 passed, every other fd CLOEXEC
//     10. seccomp, here when no_new_privs is off (loading needs CAP_SYS_ADMIN, which step 11 drops)
//     11. capabilities: bounding set, groups, gid, uid (keeping caps), the sets, ambient
//     12. no_new_privs, umask; seccomp when no_new_privs is on (as late as possible); execve
//   E 13. --pid-file (G's pid on the host); -d returns here, the process left running
//     14. the foreground: wait for G, forward SIGINT/TERM/HUP/QUIT/USR1/USR2/WINCH to it, with a pty
//         and no console socket copy between our stdio and the master (our terminal raw meanwhile,
//         its size passed on again on SIGWINCH); exit with G's status, 128+signal if killed
//
// Differences from runc: a created (not yet started) container is refused, like a stopped one; a
// console socket is also accepted in the foreground (E then only waits); -p with process-shaping
// flags is an error instead of ignoring the flags; --cgroup, --pidfd-socket, --ignore-paused,
// --apparmor and --process-label are not supported.

#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <dirent.h>

#include <memory>
#include <string>
#include <vector>

#include "cgroup.h"
#include "fd.h"
#include "privileges.h"
#include "oci-config.h"
#include "seccomp-cache.h"
#include "seccomp.h"
#include "state.h"
#include "text.h"

namespace tsswarm {

namespace {

constexpr int kExecFailed = 255;  // runc's code for "exec failed"
constexpr size_t kProxyBuffer = 64 << 10;

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

[[noreturn]] void Die(const std::string& message) {
  fprintf(stderr, "tsswarm-runtime: %s\n", message.c_str());
  exit(kExecFailed);
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "errno " + std::to_string(err);
}

// ---------------------------------------------------------------------------------------------
// The command line.

struct ExecOptions {
  std::string id;
  std::vector<std::string> args;  // the command
  bool tty = false, detach = false;
  int noNewPrivs = -1;  // -1: as the config says
  std::string consoleSocket, cwd, user, processFile, pidFile;
  std::vector<std::string> env, caps, additionalGids;
  int preserveFds = 0;
  bool shapesProcess = false;  // a flag -p cannot be combined with
};

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 1024 || id[0] == '.') return false;
  for (char c : id)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '+')) return false;
  return true;
}

bool ParseU32(const std::string& s, uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xffffffffULL) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

// runc's flags: every flag before the container id; after it (and an optional `--`) the command,
// so that its own flags ("sh -c") are never taken for exec's.
ExecOptions ParseExecArgs(int argc, char** argv, int start) {
  struct Flag {
    const char* name;
    const char* alias;
    bool value;
  };
  static const Flag kFlags[] = {{"--tty", "-t", false},
                                {"--detach", "-d", false},
                                {"--no-new-privs", nullptr, false},
                                {"--console-socket", nullptr, true},
                                {"--env", "-e", true},
                                {"--cwd", nullptr, true},
                                {"--user", "-u", true},
                                {"--additional-gids", "-g", true},
                                {"--cap", "-c", true},
                                {"--process", "-p", true},
                                {"--pid-file", nullptr, true},
                                {"--preserve-fds", nullptr, true}};
  ExecOptions o;
  int i = start;
  for (; i < argc; i++) {
    std::string s = argv[i];
    if (s == "--") {
      i++;
      break;
    }
    if (s.size() < 2 || s[0] != '-') break;
    std::string name = s, value;
    bool inlineValue = false;
    if (size_t eq = s.find('='); eq != std::string::npos && s.rfind("--", 0) == 0) {
      name = s.substr(0, eq);
      value = s.substr(eq + 1);
      inlineValue = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : kFlags)
      if (name == f.name || (f.alias != nullptr && name == f.alias)) flag = &f;
    if (flag == nullptr) Die("exec: unknown flag " + s);
    std::string n = flag->name;
    if (flag->value && !inlineValue) {
      if (i + 1 >= argc) Die("exec: flag " + n + " needs a value");
      value = argv[++i];
    }
    if (!flag->value) {
      if (inlineValue && value != "true" && value != "false") Die("exec: " + n + " takes true or false");
      bool on = !inlineValue || value == "true";
      if (n == "--tty") {
        o.tty = on;
      } else if (n == "--detach") {
        o.detach = on;
      } else {
        o.noNewPrivs = on ? 1 : 0;
        o.shapesProcess = true;
      }
      continue;
    }
    if (n == "--console-socket") o.consoleSocket = value;
    else if (n == "--env") o.env.push_back(value);
    else if (n == "--cwd") o.cwd = value;
    else if (n == "--user") o.user = value;
    else if (n == "--additional-gids") o.additionalGids.push_back(value);
    else if (n == "--cap") o.caps.push_back(value);
    else if (n == "--process") o.processFile = value;
    else if (n == "--pid-file") o.pidFile = value;
    else if (n == "--preserve-fds") {
      uint32_t v = 0;
      if (!ParseU32(value, v) || v > 1024) Die("exec: --preserve-fds: \"" + value + "\" is not a number of fds");
      o.preserveFds = static_cast<int>(v);
    }
    if (n == "--env" || n == "--cwd" || n == "--user" || n == "--additional-gids" || n == "--cap") o.shapesProcess = true;
  }
  if (i >= argc) Die("exec needs a container id");
  o.id = argv[i++];
  if (!ValidId(o.id)) Die("invalid container id \"" + o.id + "\"");
  if (i < argc && std::string(argv[i]) == "--") i++;
  for (; i < argc; i++) o.args.emplace_back(argv[i]);
  return o;
}

void SetEnv(std::vector<std::string>& env, const std::string& kv) {
  std::string prefix = kv.substr(0, kv.find('=') + 1);
  for (std::string& e : env)
    if (e.compare(0, prefix.size(), prefix) == 0) {
      e = kv;
      return;
    }
  env.push_back(kv);
}

// The process to run: config.json's with the flags applied, or --process's.
void ApplyOptions(const ExecOptions& o, OciConfig& cfg) {
  if (!o.processFile.empty()) {
    if (o.shapesProcess || o.tty)
      Die("exec: --process cannot be combined with --tty, --env, --cwd, --user, --additional-gids, --cap or --no-new-privs");
    if (!o.args.empty()) Die("exec: --process takes no command");
    bool found = false;
    int err = 0;
    std::string text = ReadSmallFile(o.processFile.c_str(), found, err, 4 << 20);
    if (!found) Die("exec: --process " + o.processFile + ": " + ErrnoText(err));
    std::string problem;
    if (!ParseOciProcess(text, cfg, problem)) Die("exec: --process " + o.processFile + ": " + problem);
    return;
  }
  if (o.args.empty() || o.args[0].empty()) Die("exec needs a command (or --process FILE)");
  cfg.args = o.args;
  cfg.terminal = o.tty;  // the container's own terminal setting is not the exec's
  if (!o.cwd.empty()) {
    if (o.cwd[0] != '/') Die("exec: --cwd \"" + o.cwd + "\" must be an absolute path");
    cfg.cwd = o.cwd;
  }
  for (const std::string& e : o.env) {
    if (e.find('=') == std::string::npos || e[0] == '=' || e.find('\0') != std::string::npos)
      Die("exec: --env \"" + e + "\" is not KEY=VALUE");
    SetEnv(cfg.env, e);
  }
  if (!o.user.empty()) {
    size_t colon = o.user.find(':');
    uint32_t uid = 0, gid = 0;
    if (!ParseU32(o.user.substr(0, colon), uid) || (colon != std::string::npos && !ParseU32(o.user.substr(colon + 1), gid)))
      Die("exec: --user \"" + o.user + "\" is not UID[:GID]");
    cfg.uid = uid;
    if (colon != std::string::npos) cfg.gid = gid;
  }
  for (const std::string& g : o.additionalGids) {
    uint32_t gid = 0;
    if (!ParseU32(g, gid)) Die("exec: --additional-gids \"" + g + "\" is not a gid");
    cfg.additionalGids.push_back(gid);
  }
  for (std::string c : o.caps) {
    for (char& ch : c) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
    if (c.rfind("CAP_", 0) != 0) c = "CAP_" + c;
    int n = CapabilityNumber(c);
    if (n < 0) Die("exec: --cap: unknown capability \"" + c + "\"");
    uint64_t bit = 1ULL << n;
    cfg.hasCapabilities = true;
    cfg.caps.bounding |= bit;
    cfg.caps.effective |= bit;
    cfg.caps.permitted |= bit;
    // Ambient needs inheritable, which --cap does not add (runc's rule).
    if (cfg.caps.inheritable != 0) cfg.caps.ambient |= bit;
  }
  if (o.noNewPrivs >= 0) cfg.noNewPrivileges = o.noNewPrivs == 1;
}

// ---------------------------------------------------------------------------------------------
// What C and G report to E.

enum RecordKind : int32_t { kPid = 0, kFailure = 1, kMaster = 2 };

struct ExecRecord {
  int32_t kind;
  int32_t err;
  int32_t pid;
  char step[64];
  char message[436];
};

int gSyncFd = -1;  // C and G: their end of the pair

// Sends `r` on `sock`, with `fd` attached when it is >= 0.
bool SendRecord(int sock, const void* data, size_t size, int fd) {
  char ctl[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{const_cast<void*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof ctl;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(size);
}

[[noreturn]] void Fail(int err, const std::string& step, const std::string& message) {
  ExecRecord r{};
  r.kind = kFailure;
  r.err = err;
  snprintf(r.step, sizeof r.step, "%s", step.c_str());
  snprintf(r.message, sizeof r.message, "%s", message.c_str());
  SendRecord(gSyncFd, &r, sizeof r, -1);
  _exit(kExecFailed);
}

[[noreturn]] void FailErrno(const std::string& step, const std::string& detail = "") {
  int err = errno;
  Fail(err, step, detail.empty() ? ErrnoText(err) : detail + ": " + ErrnoText(err));
}

// ---------------------------------------------------------------------------------------------
// Everything E prepares before the fork, for C and G.

struct JoinNs {
  Fd fd;
  int flag;
  const char* name;
};

struct Plan {
  const OciConfig* cfg = nullptr;
  CgroupSet cgroups;
  std::vector<JoinNs> namespaces;  // in the order C joins them
  bool joinsUser = false, joinsMount = false;
  Fd rootFd;                 // /proc/<pid>/root: the container's root, opened on the host
  const SeccompProgram* seccomp = nullptr;
  int consoleSocket = -1;    // -t with --console-socket: where the master goes
  bool hasWinsize = false;   // -t proxied by E: its terminal's size, the pty's before the process runs
  winsize ws{};
  int preserveFds = 0;
};

// The order of step 6. The user namespace first, so that it owns what comes after; mnt last, since
// joining it changes which /proc and which paths the rest would see.
struct NsKind {
  const char* name;
  int flag;
};
constexpr NsKind kJoinOrder[] = {{"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC},
                                 {"uts", CLONE_NEWUTS},   {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID},
                                 {"mnt", CLONE_NEWNS}};

void OpenNamespaces(pid_t pid, Plan& p) {
  for (const NsKind& k : kJoinOrder) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + k.name;
    Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) continue;  // a kernel without this kind of namespace
      Die("exec: open " + path + ": " + ErrnoText(errno));
    }
    struct stat theirs {}, ours {};
    if (fstat(fd.get(), &theirs) < 0) Die("exec: stat " + path + ": " + ErrnoText(errno));
    std::string self = std::string("/proc/self/ns/") + k.name;
    if (stat(self.c_str(), &ours) == 0 && ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino) continue;
    if (k.flag == CLONE_NEWUSER) p.joinsUser = true;
    if (k.flag == CLONE_NEWNS) p.joinsMount = true;
    p.namespaces.push_back(JoinNs{std::move(fd), k.flag, k.name});
  }
}


// All of them, so that G starts with the defaults and nothing E blocks or ignores.
void ResetSignals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// ---------------------------------------------------------------------------------------------
// G: steps 8-12.

void SetupTerminal(const Plan& p) {
  Fd master(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) FailErrno("console", "open /dev/ptmx");
  int unlock = 0;
  if (ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) FailErrno("console", "unlockpt");
  Fd slave(ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY));
  if (!slave.valid()) FailErrno("console", "open the pty slave");
  if (p.hasWinsize && ioctl(master.get(), TIOCSWINSZ, &p.ws) < 0) FailErrno("console", "window size");
  if (p.consoleSocket >= 0) {
    static const char kName[] = "/dev/ptmx";
    if (!SendRecord(p.consoleSocket, kName, sizeof kName - 1, master.get())) FailErrno("console", "send the pty master");
    close(p.consoleSocket);
  } else {
    ExecRecord r{};
    r.kind = kMaster;
    if (!SendRecord(gSyncFd, &r, sizeof r, master.get())) FailErrno("console", "send the pty master");
  }
  master.reset();
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave.get(), fd) < 0) FailErrno("console", "stdio");
  if (slave.get() < 3) slave.release();
  if (ioctl(0, TIOCSCTTY, 0) < 0) FailErrno("console", "TIOCSCTTY");
}

// 0, 1, 2 and the preserved fds stay open across execve; everything else was made CLOEXEC by E.
void PassFds(int preserveFds) {
  for (int fd = 3; fd < 3 + preserveFds; fd++)
    if (fcntl(fd, F_SETFD, 0) < 0) FailErrno("preserve fds", "fd " + std::to_string(fd));
}

void LoadFilter(const Plan& p) {
  std::string message;
  if (int err = LoadSeccompProgram(*p.seccomp, message)) Fail(err, "seccomp", message);
}

[[noreturn]] void RunProcess(Plan& p) {
  const OciConfig& cfg = *p.cfg;
  // Nothing of the host stays open in the process longer than it must (CLOEXEC would close them too).
  p.namespaces.clear();
  p.rootFd.reset();

  // Step 8.
  if (setsid() < 0) FailErrno("setsid");
  if (cfg.terminal) SetupTerminal(p);

  // Step 9.
  if (StepError e = ApplyLimits(cfg)) Fail(e.err, e.step, e.message);
  if (chdir(cfg.cwd.c_str()) < 0) FailErrno("chdir " + cfg.cwd);
  std::string exe;
  if (StepError e = ResolveExecutable(cfg.args[0], cfg.env, exe)) Fail(e.err, e.step, e.message);
  PassFds(p.preserveFds);

  // Steps 10-11.
  if (p.seccomp != nullptr && !cfg.noNewPrivileges) LoadFilter(p);
  if (StepError e = TakeIdentity(cfg, p.joinsUser)) Fail(e.err, e.step, e.message);

  // Step 12.
  if (cfg.noNewPrivileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) FailErrno("no_new_privs");
  umask(cfg.hasUmask ? cfg.umask : 022);
  if (p.seccomp != nullptr && cfg.noNewPrivileges) LoadFilter(p);
  std::vector<char*> argv, envp;
  for (const std::string& s : cfg.args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (const std::string& s : cfg.env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  execve(exe.c_str(), argv.data(), envp.data());
  FailErrno("exec", "\"" + exe + "\"");
}

// ---------------------------------------------------------------------------------------------
// C: steps 5-7.

[[noreturn]] void RunIntermediate(Plan& p) {
  ResetSignals();

  // Step 5.
  std::string message;
  if (int err = JoinCgroup(p.cgroups, getpid(), message)) Fail(err, "cgroup join", message);

  // Step 6.
  for (const JoinNs& n : p.namespaces) {
    if (setns(n.fd.get(), n.flag) < 0) FailErrno(std::string("setns ") + n.name);
    // The namespace's root from here on, so that what G creates (its pty) belongs to an id the
    // container knows; EINVAL: the namespace maps no root, and we stay as we are.
    if (n.flag != CLONE_NEWUSER) continue;
    if (setresgid(0, 0, 0) < 0 && errno != EINVAL) FailErrno("setns user", "setgid 0");
    if (setresuid(0, 0, 0) < 0 && errno != EINVAL) FailErrno("setns user", "setuid 0");
  }
  struct stat want {}, have {};
  if (fstat(p.rootFd.get(), &want) < 0) FailErrno("root", "stat the container's root");
  if (stat("/", &have) < 0 || have.st_dev != want.st_dev || have.st_ino != want.st_ino) {
    // No mount namespace of its own (the container chrooted), or a root the kernel did not give us.
    if (fchdir(p.rootFd.get()) < 0 || chroot(".") < 0) FailErrno("root", "chroot into the container's root");
  }
  if (chdir("/") < 0) FailErrno("root", "chdir /");

  // Step 7: a fork whose child is E's, as runc's nsexec does. Raw clone() on a copy of this stack:
  // G must not rely on glibc's cached thread id (raise, abort); it makes syscalls and _exits or execs.
  unsigned long flags = CLONE_PARENT | SIGCHLD;
  pid_t pid = static_cast<pid_t>(syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr));
  if (pid < 0) FailErrno("clone");
  if (pid == 0) RunProcess(p);
  ExecRecord r{};
  r.kind = kPid;
  r.pid = pid;
  if (!SendRecord(gSyncFd, &r, sizeof r, -1)) _exit(kExecFailed);
  _exit(0);
}

// ---------------------------------------------------------------------------------------------
// E.

// stdio always exists (so no fd of ours becomes the process's stdin), the preserved fds must, and
// every other inherited fd stays out of the container.
void PrepareFds(int preserveFds) {
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    int null = open("/dev/null", O_RDWR);
    if (null < 0) Die("exec: open /dev/null: " + ErrnoText(errno));
    if (null != fd) {
      dup2(null, fd);
      close(null);
    }
  }
  for (int fd = 3; fd < 3 + preserveFds; fd++)
    if (fcntl(fd, F_GETFD) < 0) Die("exec: --preserve-fds: fd " + std::to_string(fd) + " is not open");
  unsigned first = static_cast<unsigned>(3 + preserveFds);
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11.
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) Die("exec: /proc/self/fd: " + ErrnoText(errno));
  std::vector<int> fds;
  while (dirent* e = readdir(d)) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] != '.' && fd >= static_cast<int>(first) && fd != dirfd(d)) fds.push_back(fd);
  }
  closedir(d);
  for (int fd : fds) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

Fd ConnectConsole(const std::string& path) {
  Fd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) Die("exec: --console-socket " + path + ": path too long");
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (!s.valid() || connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    Die("exec: --console-socket " + path + ": " + ErrnoText(errno));
  return s;
}

ssize_t RecvRecord(int sock, ExecRecord& r, Fd& passed) {
  char ctl[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{&r, sizeof r};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
      passed.reset(fd);
    }
  }
  return n;
}

void WritePidFile(const std::string& file, pid_t pid) {
  std::string path = file;
  if (path[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == nullptr) Die("exec: getcwd: " + ErrnoText(errno));
    path = std::string(cwd) + "/" + path;
  }
  std::string tmp = path + ".tmp";
  if (int err = WriteFile(tmp, std::to_string(pid), O_WRONLY | O_CREAT | O_TRUNC)) {
    unlink(tmp.c_str());
    kill(pid, SIGKILL);  // nothing half-done: a caller that cannot learn the pid has no process
    Die("exec: --pid-file " + file + ": " + ErrnoText(err));
  }
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    int err = errno;
    unlink(tmp.c_str());
    kill(pid, SIGKILL);
    Die("exec: --pid-file " + file + ": " + ErrnoText(err));
  }
}

// Our terminal raw while the process has its own, restored on every way out.
class RawTerminal {
 public:
  RawTerminal() {
    if (!isatty(0) || tcgetattr(0, &saved_) < 0) return;
    termios raw = saved_;
    cfmakeraw(&raw);
    active_ = tcsetattr(0, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(0, TCSADRAIN, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

// The size of our terminal (the first of stdin, stdout, stderr that is one).
bool WindowSize(winsize& ws) {
  for (int fd = 0; fd < 3; fd++)
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0) return true;
  return false;
}

void CopyWindowSize(int master) {
  winsize ws{};
  if (WindowSize(ws)) ioctl(master, TIOCSWINSZ, &ws);
}

int ExitCodeOf(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// Step 14: until G exits. `master` is valid when we proxy its pty; `sfd` is a signalfd for the
// signals blocked before the fork.
int WaitForeground(pid_t pid, Fd master, int sfd) {
  std::unique_ptr<RawTerminal> raw;
  if (master.valid()) {
    raw = std::make_unique<RawTerminal>();
    CopyWindowSize(master.get());  // G set it before the process ran; it may have changed since
    fcntl(master.get(), F_SETFL, fcntl(master.get(), F_GETFL) | O_NONBLOCK);
  }
  bool stdinOpen = master.valid(), masterOpen = master.valid();
  std::string toMaster;  // read from stdin, not yet taken by the pty
  char buf[16 << 10];
  auto drainMaster = [&]() {
    for (;;) {
      ssize_t n = read(master.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // EIO: no slave is open any more; EAGAIN: nothing for now.
        if (n == 0 || errno != EAGAIN) masterOpen = false;
        return;
      }
      WriteAll(1, std::string(buf, static_cast<size_t>(n)));  // a closed stdout only loses output
    }
  };
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno == ECHILD)) break;
    pollfd fds[3];
    int n = 0, iSig = n++, iMaster = -1, iIn = -1;
    fds[iSig] = {sfd, POLLIN, 0};
    if (masterOpen) {
      iMaster = n++;
      fds[iMaster] = {master.get(), static_cast<short>(POLLIN | (toMaster.empty() ? 0 : POLLOUT)), 0};
    }
    if (stdinOpen && toMaster.size() < kProxyBuffer) {
      iIn = n++;
      fds[iIn] = {0, POLLIN, 0};
    }
    if (poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      // Not Die(): the terminal is restored on the way out.
      fprintf(stderr, "tsswarm-runtime: exec: poll: %s\n", ErrnoText(errno).c_str());
      return kExecFailed;
    }
    if (fds[iSig].revents & POLLIN) {
      signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) continue;  // the waitpid at the top of the loop
        if (sig == SIGWINCH && master.valid()) {
          CopyWindowSize(master.get());  // the kernel signals the pty's foreground group itself
          continue;
        }
        kill(pid, sig);
      }
    }
    if (iMaster >= 0 && (fds[iMaster].revents & (POLLIN | POLLHUP | POLLERR))) drainMaster();
    if (iMaster >= 0 && masterOpen && (fds[iMaster].revents & POLLOUT) && !toMaster.empty()) {
      ssize_t w2 = write(master.get(), toMaster.data(), toMaster.size());
      if (w2 > 0) toMaster.erase(0, static_cast<size_t>(w2));
      else if (w2 < 0 && errno != EAGAIN && errno != EINTR) toMaster.clear();
    }
    if (iIn >= 0 && (fds[iIn].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(0, buf, sizeof buf);
      if (r > 0) toMaster.append(buf, static_cast<size_t>(r));
      else if (r == 0 || (errno != EINTR && errno != EAGAIN)) stdinOpen = false;
    }
  }
  // What the process wrote last is still in the pty.
  if (masterOpen) drainMaster();
  return ExitCodeOf(status);
}

}  // namespace

int ExecMain(const std::string& root, int argc, char** argv, int start) {
  ExecOptions o = ParseExecArgs(argc, argv, start);
  PrepareFds(o.preserveFds);

  // Step 1.
  std::string dir = root + "/" + o.id, problem;
  State s;
  struct stat st {};
  if (stat(dir.c_str(), &st) < 0) Die("container \"" + o.id + "\" does not exist");
  if (!ReadState(dir, s, problem)) Die("container \"" + o.id + "\": " + problem);
  std::string status = LiveStatus(s);
  if (status == "paused") Die("cannot exec in container \"" + o.id + "\": container is paused");
  if (status != "running") Die("cannot exec in container \"" + o.id + "\": container is " + status + ", not running");
  OciConfig cfg;
  if (!LoadOciConfig(s.bundle, cfg, problem)) Die("container \"" + o.id + "\": " + problem);
  ApplyOptions(o, cfg);
  if (cfg.terminal && o.detach && o.consoleSocket.empty()) Die("exec: a detached exec with --tty needs --console-socket");
  if (!o.consoleSocket.empty() && !cfg.terminal) Die("exec: --console-socket needs --tty");

  // Step 2.
  SeccompProgram seccomp;
  Plan p;
  p.cfg = &cfg;
  p.cgroups = CgroupSetOf(s);
  p.preserveFds = o.preserveFds;
  if (cfg.hasSeccomp) {
    if (int err = CachedSeccompProgram(cfg.seccomp, root + "/.seccomp-cache", seccomp, problem))
      Die("seccomp: " + ErrnoName(err) + " (" + problem + ")");
    p.seccomp = &seccomp;
  }

  // Step 3.
  OpenNamespaces(s.pid, p);
  p.rootFd.reset(open(("/proc/" + std::to_string(s.pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!p.rootFd.valid()) Die("exec: open the container's root: " + ErrnoText(errno));
  // The pid could have been reused while we opened its files.
  if (!SameProcess(s.pid, s.pidStartTime)) Die("cannot exec in container \"" + o.id + "\": container is stopped, not running");
  Fd console;
  if (!o.consoleSocket.empty()) console = ConnectConsole(o.consoleSocket);
  p.consoleSocket = console.get();
  if (cfg.terminal && !console.valid()) p.hasWinsize = WindowSize(p.ws);

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) Die("exec: socketpair: " + ErrnoText(errno));
  Fd ours(sv[0]), theirs(sv[1]);
  // Blocked before the fork so that none is lost; C unblocks them for itself and G.
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD}) sigaddset(&forwarded, sig);
  Fd sfd;
  if (!o.detach) {
    sigprocmask(SIG_BLOCK, &forwarded, nullptr);
    sfd.reset(signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sfd.valid()) Die("exec: signalfd: " + ErrnoText(errno));
  }

  // Step 4.
  pid_t child = fork();
  if (child < 0) Die("exec: fork: " + ErrnoText(errno));
  if (child == 0) {
    gSyncFd = theirs.get();
    ours.reset();
    sfd.reset();
    RunIntermediate(p);
  }
  theirs.reset();
  console.reset();
  p.namespaces.clear();
  p.rootFd.reset();
  signal(SIGPIPE, SIG_IGN);

  // Until EOF: C's pid report, the master (-t without a console socket), or the first failure.
  pid_t pid = -1;
  Fd master;
  ExecRecord failure{};
  bool failed = false;
  for (;;) {
    ExecRecord r{};
    Fd passed;
    ssize_t n = RecvRecord(ours.get(), r, passed);
    if (n == 0) break;
    if (n != static_cast<ssize_t>(sizeof r)) {
      if (!failed) {
        failure = ExecRecord{};
        failure.err = n < 0 ? errno : EPROTO;
        snprintf(failure.step, sizeof failure.step, "exec");
        snprintf(failure.message, sizeof failure.message, "short report from the container process");
        failed = true;
      }
      break;
    }
    if (r.kind == kPid) pid = r.pid;
    else if (r.kind == kMaster) master = std::move(passed);
    else if (r.kind == kFailure && !failed) {
      failure = r;
      failed = true;
    }
  }
  ours.reset();
  int cstatus = 0;
  while (waitpid(child, &cstatus, 0) < 0 && errno == EINTR) {
  }
  if (!failed && pid < 0) {
    failure.err = ECHILD;
    snprintf(failure.step, sizeof failure.step, "exec");
    snprintf(failure.message, sizeof failure.message, "the runtime's child exited (status %d) before it started the process",
             ExitCodeOf(cstatus));
    failed = true;
  }
  if (failed) {
    if (pid > 0) {
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    failure.step[sizeof failure.step - 1] = 0;
    failure.message[sizeof failure.message - 1] = 0;
    Die(std::string(failure.step) + ": " + ErrnoName(failure.err) + " (" + failure.message + ")");
  }

  // Step 13.
  if (!o.pidFile.empty()) WritePidFile(o.pidFile, pid);
  if (o.detach) return 0;

  // Step 14.
  return WaitForeground(pid, std::move(master), sfd.get());
}

}  // namespace tsswarm
