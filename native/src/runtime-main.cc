// tsswarm-runtime: an OCI runtime with runc's command line.
//
//   tsswarm-runtime [--root DIR] [--cgroup-root DIR] COMMAND ...
//     create [--bundle|-b DIR] [--pid-file F] [--console-socket S] ID
//     start ID | state ID | kill [--all] ID [SIGNAL] | delete [--force] ID | list [-q] [--format table|json]
//     run [--bundle DIR] [--pid-file F] [--console-socket S] [--detach] ID
//     pause ID | resume ID
//
// A container's state lives in <root>/<id>/ (state.json, see state.h), --root defaulting to
// /run/tsswarm-runtime. `create` forks the shim (shim.cc), which stays as the parent of the
// container's PID 1 and records its exit; every other command reads state.json. runc's global flags
// that only shape its own logging (--log, --log-format, --debug) are accepted and ignored.
//
// The agent starts containers with `run --detach --report-fd 3`: the outcome comes back as one line
// on fd 3 (shim.h), and this process returns at once instead of waiting for it.

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cgroup.h"
#include "exec.h"
#include "fd.h"
#include "hooks.h"
#include "init.h"
#include "oci-config.h"
#include "shim.h"
#include "state.h"
#include "text.h"

using namespace tsswarm;

namespace {

constexpr const char* kVersion = "0.1.0";
constexpr const char* kSpecVersion = "1.1.0";

struct Global {
  std::string root = "/run/tsswarm-runtime";
  std::string cgroupRoot = kDefaultCgroupRoot;
};

[[noreturn]] void Die(const std::string& message, int code = 1) {
  fprintf(stderr, "tsswarm-runtime: %s\n", message.c_str());
  exit(code);
}

// Flags of one command: `--name value`, `--name=value`, and booleans.
struct Args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<std::string> bools;

  std::string get(const std::string& name, const std::string& fallback = "") const {
    for (const auto& [k, v] : values)
      if (k == name) return v;
    return fallback;
  }
  bool has(const std::string& name) const { return std::find(bools.begin(), bools.end(), name) != bools.end(); }
};

// `valueFlags` take a value; `boolFlags` do not; aliases map short names onto long ones.
Args ParseArgs(int argc, char** argv, int start, const std::vector<std::string>& valueFlags,
               const std::vector<std::string>& boolFlags, const std::vector<std::pair<std::string, std::string>>& aliases,
               bool stopAtPositional = false) {
  Args a;
  auto canonical = [&](std::string n) {
    for (const auto& [s, l] : aliases)
      if (n == s) return l;
    return n;
  };
  for (int i = start; i < argc; i++) {
    std::string s = argv[i];
    if (s == "--") {
      for (i++; i < argc; i++) a.positional.emplace_back(argv[i]);
      break;
    }
    if (s.size() > 1 && s[0] == '-' && !(stopAtPositional && !a.positional.empty())) {
      std::string name = s, value;
      bool hasValue = false;
      if (size_t eq = s.find('='); eq != std::string::npos && s.rfind("--", 0) == 0) {
        name = s.substr(0, eq);
        value = s.substr(eq + 1);
        hasValue = true;
      }
      name = canonical(name);
      if (std::find(valueFlags.begin(), valueFlags.end(), name) != valueFlags.end()) {
        if (!hasValue) {
          if (i + 1 >= argc) Die("flag " + name + " needs a value");
          value = argv[++i];
        }
        a.values.emplace_back(name, value);
      } else if (std::find(boolFlags.begin(), boolFlags.end(), name) != boolFlags.end()) {
        if (!hasValue || value == "true") a.bools.push_back(name);
      } else {
        Die("unknown flag " + s);
      }
      continue;
    }
    a.positional.push_back(s);
  }
  return a;
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 1024 || id[0] == '.') return false;
  for (char c : id)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '+')) return false;
  return true;
}

std::string OneId(const Args& a, const char* command, size_t extra = 0) {
  if (a.positional.empty()) Die(std::string(command) + " needs a container id");
  if (a.positional.size() > 1 + extra) Die(std::string(command) + ": too many arguments");
  if (!ValidId(a.positional[0])) Die("invalid container id \"" + a.positional[0] + "\"");
  return a.positional[0];
}

std::string Absolute(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == nullptr) Die("getcwd: " + ErrnoText(errno));
  return p.empty() || p == "." ? cwd : std::string(cwd) + "/" + p;
}

void MkdirP(const std::string& dir, mode_t mode) {
  std::string cur;
  for (const std::string& part : Split(dir, '/')) {
    if (part.empty()) continue;
    cur += "/" + part;
    if (mkdir(cur.c_str(), mode) < 0 && errno != EEXIST) Die("mkdir " + cur + ": " + ErrnoText(errno));
  }
}

State LoadState(const Global& g, const std::string& id) {
  State s;
  std::string problem;
  struct stat st {};
  if (stat((g.root + "/" + id).c_str(), &st) < 0) Die("container \"" + id + "\" does not exist");
  if (!ReadState(g.root + "/" + id, s, problem)) Die("container \"" + id + "\": " + problem);
  return s;
}


struct Sig {
  const char* name;
  int num;
};
const Sig kSignals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
                        {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
                        {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
                        {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
                        {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
                        {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"PWR", SIGPWR},   {"SYS", SIGSYS}};

int ParseSignal(std::string s) {
  if (!s.empty() && isdigit(static_cast<unsigned char>(s[0]))) {
    int n = atoi(s.c_str());
    if (n >= 0 && n < 65) return n;  // 0: only whether it is there, as kill(1)
    Die("invalid signal \"" + s + "\"");
  }
  for (char& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  for (const Sig& k : kSignals)
    if (s == k.name) return k.num;
  Die("invalid signal \"" + s + "\"");
}

void WaitStopped(const Global& g, const std::string& id, int timeoutMs);

// Kills a container this process just made and removes everything of it.
void Discard(const Global& g, const std::string& id) {
  std::string dir = g.root + "/" + id, problem;
  State s;
  if (ReadState(dir, s, problem)) {
    if (SameProcess(s.pid, s.pidStartTime)) kill(s.pid, SIGKILL);
    WaitStopped(g, id, 10000);
    RemoveCgroup(CgroupSetOf(s), 5000, problem);
  }
  for (const char* f : {"state.json", "state.json.tmp", "start.sock"}) unlink((dir + "/" + f).c_str());
  rmdir(dir.c_str());
}

// create and run: claim <root>/<id>, load config.json, fork the shim.
int CreateOrRun(const Global& g, int argc, char** argv, int start, bool run) {
  Args a = ParseArgs(argc, argv, start, {"--bundle", "--pid-file", "--console-socket", "--preserve-fds", "--report-fd"},
                     {"--detach", "--no-pivot", "--no-new-keyring", "--no-subreaper", "--keep"},
                     {{"-b", "--bundle"}, {"-d", "--detach"}});
  std::string id = OneId(a, run ? "run" : "create");
  std::string bundle = Absolute(a.get("--bundle", "."));
  int reportFd = a.get("--report-fd").empty() ? -1 : atoi(a.get("--report-fd").c_str());
  auto reject = [&](int err, const std::string& step, const std::string& message) -> int {
    if (reportFd >= 0) {
      WriteAll(reportFd, "err\t" + std::to_string(err) + "\t" + OneLine(step) + "\t" + OneLine(message) + "\n");
      return 1;
    }
    Die(message);
  };

  OciConfig cfg;
  std::string problem;
  if (!LoadOciConfig(bundle, cfg, problem)) return reject(EINVAL, "config.json", problem);
  if (!cfg.hasProcess) return reject(EINVAL, "config.json", "config.json: process: is required to create a container");
  struct stat st {};
  if (stat(cfg.rootPath.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
    return reject(ENOENT, "config.json", "config.json: root.path: " + cfg.rootPath + " is not a directory");

  Fd console;
  if (std::string cs = a.get("--console-socket"); !cs.empty()) {
    console.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (cs.size() >= sizeof addr.sun_path) return reject(ENAMETOOLONG, "console socket", cs + ": path too long");
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", cs.c_str());
    if (!console.valid() || connect(console.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
      return reject(errno, "console socket", cs + ": " + ErrnoText(errno));
  } else if (cfg.terminal && reportFd < 0 && !(run && !a.has("--detach"))) {
    // runc's rule for its own command line. With --report-fd (the agent's) the shim keeps the pty
    // and relays it into the container's log (log-relay.h).
    return reject(EINVAL, "console socket", "process.terminal needs --console-socket");
  }

  MkdirP(g.root, 0700);
  std::string dir = g.root + "/" + id;
  if (mkdir(dir.c_str(), 0711) < 0) {
    if (errno == EEXIST) return reject(EEXIST, "create", "container \"" + id + "\" already exists");
    return reject(errno, "create", "mkdir " + dir + ": " + ErrnoText(errno));
  }

  ShimOptions o;
  o.id = id;
  o.stateDir = dir;
  o.cgroupRoot = g.cgroupRoot;
  o.cfg = &cfg;
  o.startNow = run;
  o.consoleSocket = console.valid() ? console.get() : -1;
  o.seccompCacheDir = g.root + "/.seccomp-cache";
  bool foreground = run && !a.has("--detach");
  if (foreground) {
    // runc run: this process waits for the container, which gets our stdio, and removes it after.
    o.foreground = true;
    o.reportFd = -1;
    int code = RunShim(o);
    State s;
    if (ReadState(dir, s, problem)) {
      std::string ignored;
      RemoveCgroup(CgroupSetOf(s), 5000, ignored);
      unlink((dir + "/state.json").c_str());
      rmdir(dir.c_str());
    }
    return code;
  }

  int pipeFds[2] = {-1, -1};
  if (reportFd < 0 && pipe2(pipeFds, O_CLOEXEC) < 0) Die("pipe: " + ErrnoText(errno));
  o.reportFd = reportFd >= 0 ? reportFd : pipeFds[1];
  pid_t child = fork();
  if (child < 0) Die("fork: " + ErrnoText(errno));
  if (child == 0) {
    if (pipeFds[0] >= 0) close(pipeFds[0]);
    // Its own session: the shim outlives this process and any terminal it was started from.
    setsid();
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    _exit(RunShim(o) == 0 ? 0 : 1);
  }
  console.reset();
  if (reportFd >= 0) return 0;  // the caller reads the outcome on its fd
  close(pipeFds[1]);
  std::string line = ReadLine(pipeFds[0], 4096);
  close(pipeFds[0]);
  std::vector<std::string> f = Split(line.substr(0, line.find('\n')), '\t');
  if (f.size() >= 3 && f[0] == "ok") {
    if (std::string pf = a.get("--pid-file"); !pf.empty()) {
      std::string tmp = Absolute(pf) + ".tmp";
      if (WriteFile(tmp, f[2], O_WRONLY | O_CREAT | O_TRUNC) != 0 || rename(tmp.c_str(), Absolute(pf).c_str()) < 0) {
        // Nothing half-made: a create whose caller cannot learn the pid is undone, as runc does.
        int err = errno;
        unlink(tmp.c_str());
        Discard(g, id);
        Die("pid file " + pf + ": " + ErrnoText(err));
      }
    }
    return 0;
  }
  if (f.size() >= 4 && f[0] == "err") Die(f[2] + ": " + ErrnoText(atoi(f[1].c_str())) + " (" + f[3] + ")");
  Die("the shim exited without a report");
}

int Start(const Global& g, int argc, char** argv, int start) {
  Args a = ParseArgs(argc, argv, start, {}, {}, {});
  std::string id = OneId(a, "start");
  State s = LoadState(g, id);
  std::string status = LiveStatus(s);
  if (status != "created") Die("cannot start a container that is " + status);
  std::string message;
  if (RequestStart(g.root + "/" + id, message) != 0) Die(message);
  return 0;
}

int StateCmd(const Global& g, int argc, char** argv, int start) {
  Args a = ParseArgs(argc, argv, start, {}, {}, {});
  std::string id = OneId(a, "state");
  State s = LoadState(g, id);
  printf("%s\n", StateJson(s, LiveStatus(s), true).c_str());
  return 0;
}

int Kill(const Global& g, int argc, char** argv, int start) {
  Args a = ParseArgs(argc, argv, start, {}, {"--all"}, {{"-a", "--all"}});
  std::string id = OneId(a, "kill", 1);
  int sig = a.positional.size() > 1 ? ParseSignal(a.positional[1]) : SIGTERM;
  State s = LoadState(g, id);
  std::string status = LiveStatus(s);
  if (status != "created" && status != "running" && status != "paused") Die("container \"" + id + "\" is not running");
  CgroupSet set = CgroupSetOf(s);
  if (a.has("--all")) {
    for (pid_t p : CgroupPids(set)) kill(p, sig);
  } else {
    Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, s.pid, 0)));
    if (!pidfd.valid() || !SameProcess(s.pid, s.pidStartTime)) Die("container \"" + id + "\" is not running");
    if (syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0) Die("kill: " + ErrnoText(errno));
  }
  // A frozen process only acts on SIGKILL once it is thawed.
  std::string ignored;
  if (sig == SIGKILL && status == "paused") FreezeCgroup(set, false, ignored);
  return 0;
}

void WaitStopped(const Global& g, const std::string& id, int timeoutMs) {
  for (int waited = 0; waited < timeoutMs; waited += 5) {
    State s;
    std::string problem;
    if (!ReadState(g.root + "/" + id, s, problem) || LiveStatus(s) == "stopped") return;
    usleep(5000);
  }
}

int Delete(const Global& g, int argc, char** argv, int start) {
  Args a = ParseArgs(argc, argv, start, {}, {"--force"}, {{"-f", "--force"}});
  std::string id = OneId(a, "delete");
  std::string dir = g.root + "/" + id;
  struct stat st {};
  if (stat(dir.c_str(), &st) < 0) {
    if (a.has("--force")) return 0;
    Die("container \"" + id + "\" does not exist");
  }
  State s;
  std::string problem;
  bool haveState = ReadState(dir, s, problem);
  if (haveState) {
    std::string status = LiveStatus(s);
    // The runtime-spec: deleting a container that is not stopped (created included) is an error.
    if (status != "stopped" && !a.has("--force"))
      Die("cannot delete container \"" + id + "\" that is " + status + " (use --force)");
    CgroupSet set = CgroupSetOf(s);
    if (status != "stopped") {
      if (SameProcess(s.pid, s.pidStartTime)) kill(s.pid, SIGKILL);
      std::string ignored;
      if (status == "paused") FreezeCgroup(set, false, ignored);
      WaitStopped(g, id, 10000);
    }
    if (int err = RemoveCgroup(set, 5000, problem)) Die("delete " + id + ": " + problem + " (" + ErrnoText(err) + ")");
  }
  for (const char* f : {"state.json", "state.json.tmp", "start.sock"}) unlink((dir + "/" + f).c_str());
  if (rmdir(dir.c_str()) < 0) Die("delete " + id + ": rmdir " + dir + ": " + ErrnoText(errno));
  // poststop hooks, from the bundle's config.json; a failing one is only a warning (runtime-spec).
  OciConfig cfg;
  if (haveState && !s.bundle.empty() && LoadOciConfig(s.bundle, cfg, problem)) {
    State stopped = s;
    if (RunHooks(cfg, "poststop", StateJson(stopped, "stopped", false), problem, true) != 0)
      fprintf(stderr, "tsswarm-runtime: warning: %s\n", problem.c_str());
  }
  return 0;
}

int List(const Global& g, int argc, char** argv, int start) {
  Args a = ParseArgs(argc, argv, start, {"--format"}, {"--quiet"}, {{"-f", "--format"}, {"-q", "--quiet"}});
  std::string format = a.get("--format", "table");
  if (format != "table" && format != "json") Die("invalid format \"" + format + "\"");
  std::vector<std::string> ids;
  if (DIR* d = opendir(g.root.c_str())) {
    while (dirent* e = readdir(d))
      if (ValidId(e->d_name)) ids.emplace_back(e->d_name);
    closedir(d);
  }
  std::sort(ids.begin(), ids.end());
  if (a.has("--quiet")) {
    for (const std::string& id : ids) printf("%s\n", id.c_str());
    return 0;
  }
  if (format == "json") {
    std::string out = "[";
    for (const std::string& id : ids) {
      State s;
      std::string problem;
      if (!ReadState(g.root + "/" + id, s, problem)) continue;
      out += (out.size() > 1 ? "," : "") + StateJson(s, LiveStatus(s), false);
    }
    printf("%s]\n", out.c_str());
    return 0;
  }
  printf("%-20s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
  for (const std::string& id : ids) {
    State s;
    std::string problem;
    if (!ReadState(g.root + "/" + id, s, problem)) continue;
    std::string status = LiveStatus(s);
    printf("%-20s %-8d %-10s %-40s %-30s %s\n", id.c_str(), status == "stopped" ? 0 : s.pid, status.c_str(), s.bundle.c_str(),
           s.created.c_str(), "root");
  }
  return 0;
}

int PauseResume(const Global& g, int argc, char** argv, int start, bool pause) {
  Args a = ParseArgs(argc, argv, start, {}, {}, {});
  std::string id = OneId(a, pause ? "pause" : "resume");
  State s = LoadState(g, id);
  std::string status = LiveStatus(s);
  if (pause && status != "running" && status != "created") Die("container \"" + id + "\" is not running");
  if (!pause && status != "paused") Die("container \"" + id + "\" is not paused");
  std::string message;
  if (FreezeCgroup(CgroupSetOf(s), pause, message) != 0) Die(message);
  return 0;
}

void Usage() {
  printf(
      "tsswarm-runtime %s: an OCI runtime (runtime-spec %s) with runc's command line\n\n"
      "usage: tsswarm-runtime [--root DIR] [--cgroup-root DIR] COMMAND [ARGS]\n\n"
      "  create [--bundle DIR] [--pid-file F] [--console-socket S] ID\n"
      "  start ID\n  state ID\n  kill [--all] ID [SIGNAL]\n  delete [--force] ID\n"
      "  run [--bundle DIR] [--pid-file F] [--console-socket S] [--detach] ID\n"
      "  list [-q] [--format table|json]\n  pause ID\n  resume ID\n"
      "  exec [-t] [--console-socket S] [-d] [-e K=V] [--cwd D] [-u UID[:GID]] [--cap C] [-p F] [--pid-file F] ID CMD...\n",
      kVersion, kSpecVersion);
}

}  // namespace

int main(int argc, char** argv) {
  // Bound into a container as its init (`init: true`).
  std::string self = argv[0];
  if (self.substr(self.rfind('/') + 1) == "docker-init") return InitMain(argc, argv);
  Global g;
  int i = 1;
  for (; i < argc; i++) {
    std::string a = argv[i];
    if (a.empty() || a[0] != '-') break;
    std::string name = a, value;
    bool inlineValue = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inlineValue = true;
    }
    auto takeValue = [&]() {
      if (inlineValue) return value;
      if (i + 1 >= argc) Die("flag " + name + " needs a value");
      return std::string(argv[++i]);
    };
    if (name == "--root") g.root = Absolute(takeValue());
    else if (name == "--cgroup-root") g.cgroupRoot = Absolute(takeValue());
    else if (name == "--log" || name == "--log-format" || name == "--criu" || name == "--rootless") takeValue();
    else if (name == "--debug" || name == "--systemd-cgroup") {
      if (name == "--systemd-cgroup") Die("--systemd-cgroup is not supported: give linux.cgroupsPath as a path");
    } else if (name == "--version" || name == "-v") {
      printf("tsswarm-runtime version %s\nspec: %s\n", kVersion, kSpecVersion);
      return 0;
    } else if (name == "--help" || name == "-h") {
      Usage();
      return 0;
    } else {
      Die("unknown global flag " + a);
    }
  }
  if (i >= argc) {
    Usage();
    return 1;
  }
  std::string cmd = argv[i++];
  if (cmd == "create") return CreateOrRun(g, argc, argv, i, false);
  if (cmd == "run") return CreateOrRun(g, argc, argv, i, true);
  if (cmd == "start") return Start(g, argc, argv, i);
  if (cmd == "state") return StateCmd(g, argc, argv, i);
  if (cmd == "kill") return Kill(g, argc, argv, i);
  if (cmd == "delete") return Delete(g, argc, argv, i);
  if (cmd == "list") return List(g, argc, argv, i);
  if (cmd == "pause") return PauseResume(g, argc, argv, i, true);
  if (cmd == "resume") return PauseResume(g, argc, argv, i, false);
  if (cmd == "exec") return ExecMain(g.root, argc, argv, i);
  if (cmd == "init") return InitMain(argc - i + 1, argv + i - 1);
  if (cmd == "help") {
    Usage();
    return 0;
  }
  Die("unknown command \"" + cmd + "\"");
}
