// tsswarm-shim: the parent of one container's PID 1.
//
// Started by the agent (addon spawnShim) in a new session with the report pipe on fd 3. It forks once
// more so that it is not the agent's child (the container must outlive the agent), then:
//
//   clone(NEWPID|NEWNS|NEWUTS|NEWIPC[|NEWNET]) -> [parent] join cgroups -> "go" over the sync socket
//   [child] stdio -> [setns netns] -> mounts -> lo up -> hostname -> pivot_root -> wait for "go" ->
//           user lookup -> capabilities -> no_new_privs -> setgroups/setgid/setuid -> chdir -> execve
//
// With --netns PATH the container joins a network namespace the agent prepared (veth, addresses,
// routes already in place) instead of getting a new one: the shim opens PATH before clone (a bad
// path fails before anything is created) and PID 1 setns()es into it first thing, before /sys is
// mounted, because sysfs shows the network devices of the namespace that mounts it.
//
// The child builds its mount namespace while the parent joins the cgroup (on v1 that join waits for
// an RCU grace period, see below), and waits for "go" before anything of the image runs: no code from
// the container executes outside the cgroup, but the kernel-side setup overlaps the wait.
//
// The sync socket is CLOEXEC: the parent seeing EOF without a failure record means execve succeeded.
// A failure in the child is sent as one record (errno, step, message) and then reported to the agent
// on fd 3 as `err\t<errno>\t<step>\t<message>\n`; success as `ok\t<shimPid>\t<pid>\n`, written only
// after state.json says "running" so that inspect() right after run() sees it.
//
// Usage: tsswarm-shim --state-dir D --rootfs R --log L --hostname H --cwd C [--user U] [--netns PATH]
//                     [--cgroup-v2-dir DIR] [--cgroup-procs FILE]... [--env K=V]... -- ARGV...
//
// Joining the cgroup: moving a task into a cgroup by writing cgroup.procs takes the global
// cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period (about 10ms on an idle
// machine, the largest single cost of a start). On cgroup v2 clone3(CLONE_INTO_CGROUP) creates PID 1
// inside the cgroup instead, which only takes the read side; the writes remain the v1 path and the
// fallback for kernels without clone3 (< 5.7).

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fd.h"
#include "proc.h"

using tsswarm::Fd;
using tsswarm::ProcessStartTime;

namespace {

constexpr int kReportFd = 3;
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct Config {
  std::string stateDir, rootfs, logPath, hostname, cwd = "/", user;
  bool hasUser = false;
  std::string cgroupV2Dir;  // when set, PID 1 is cloned straight into it (clone3 CLONE_INTO_CGROUP)
  std::string netns;        // when set, PID 1 joins this network namespace instead of a new one
  std::vector<std::string> cgroupProcs, env, args;
};

// One failure record over the SEQPACKET sync socket; fixed size so one read gets all of it.
struct Failure {
  int32_t err;
  char step[64];
  char message[448];
};

std::string errnoText(int err) { return strerror(err); }

bool writeAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Tabs and newlines would break the one-line report format.
std::string oneLine(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n') c = ' ';
  return s;
}

void reportFailure(int err, const std::string& step, const std::string& message) {
  writeAll(kReportFd, "err\t" + std::to_string(err) + "\t" + oneLine(step) + "\t" + oneLine(message) + "\n");
  close(kReportFd);
}

bool parseArgs(int argc, char** argv, Config& cfg, std::string& problem) {
  int i = 1;
  for (; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--") {
      i++;
      break;
    }
    if (i + 1 >= argc) {
      problem = "missing value for " + a;
      return false;
    }
    std::string v = argv[++i];
    if (a == "--state-dir") cfg.stateDir = v;
    else if (a == "--rootfs") cfg.rootfs = v;
    else if (a == "--log") cfg.logPath = v;
    else if (a == "--hostname") cfg.hostname = v;
    else if (a == "--cwd") cfg.cwd = v;
    else if (a == "--user") cfg.user = v, cfg.hasUser = true;
    else if (a == "--cgroup-procs") cfg.cgroupProcs.push_back(v);
    else if (a == "--cgroup-v2-dir") cfg.cgroupV2Dir = v;
    else if (a == "--netns") cfg.netns = v;
    else if (a == "--env") cfg.env.push_back(v);
    else {
      problem = "unknown option " + a;
      return false;
    }
  }
  for (; i < argc; i++) cfg.args.emplace_back(argv[i]);
  if (cfg.stateDir.empty() || cfg.rootfs.empty() || cfg.logPath.empty() || cfg.args.empty()) {
    problem = "--state-dir, --rootfs, --log and a command are required";
    return false;
  }
  return true;
}

// Written by rename so readers never see half a file. No fsync: after a power loss the container is
// gone anyway, and fsync would cost milliseconds on every start.
void writeState(const Config& cfg, const std::string& json) {
  std::string tmp = cfg.stateDir + "/state.json.tmp";
  std::string dst = cfg.stateDir + "/state.json";
  Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return;
  bool ok = writeAll(fd.get(), json);
  fd.reset();
  if (ok) rename(tmp.c_str(), dst.c_str());
}

// ---------------------------------------------------------------------------------------------
// Child side (PID 1 of the new namespaces). It either execs or exits, so it does not bother to
// release what it allocates; it does keep fds CLOEXEC so nothing leaks into the container.

struct ChildArgs {
  const Config* cfg;
  int syncFd;
  int logFd;
  int nullFd;
  int netnsFd;  // -1: PID 1 was cloned with its own new network namespace
};

int gSyncFd = -1;

[[noreturn]] void fail(int err, const std::string& step, const std::string& message) {
  Failure f{};
  f.err = err;
  snprintf(f.step, sizeof f.step, "%s", step.c_str());
  snprintf(f.message, sizeof f.message, "%s", message.c_str());
  ssize_t ignored = write(gSyncFd, &f, sizeof f);
  (void)ignored;
  _exit(127);
}

void mkdirAll(const std::string& path, mode_t mode) {
  for (size_t i = 1; i <= path.size(); i++) {
    if (i == path.size() || path[i] == '/') {
      std::string part = path.substr(0, i);
      if (mkdir(part.c_str(), mode) < 0 && errno != EEXIST) fail(errno, "mkdir " + part, errnoText(errno));
    }
  }
}

void mountOrFail(const std::string& step, const char* src, const std::string& target, const char* fstype,
                 unsigned long flags, const char* data) {
  if (mount(src, target.c_str(), fstype, flags, data) < 0) fail(errno, step, errnoText(errno));
}

struct Device {
  const char* name;
  unsigned major, minor;
};
constexpr Device kDevices[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
                               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

void setupDev(const std::string& rootfs) {
  std::string dev = rootfs + "/dev";
  mkdirAll(dev, 0755);
  mountOrFail("mount /dev", "tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  for (const Device& d : kDevices) {
    std::string path = dev + "/" + d.name;
    if (mknod(path.c_str(), S_IFCHR | 0666, makedev(d.major, d.minor)) == 0) continue;
    // Without CAP_MKNOD (e.g. a future user namespace) bind the host's node instead.
    if (errno != EPERM) fail(errno, "mknod /dev/" + std::string(d.name), errnoText(errno));
    Fd f(open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0666));
    if (!f.valid()) fail(errno, "create /dev/" + std::string(d.name), errnoText(errno));
    mountOrFail("bind /dev/" + std::string(d.name), ("/dev/" + std::string(d.name)).c_str(), path, nullptr,
                MS_BIND, nullptr);
  }
  const char* links[][2] = {{"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
                            {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                            {"pts/ptmx", "ptmx"}};
  for (auto& l : links) {
    std::string path = dev + "/" + l[1];
    if (symlink(l[0], path.c_str()) < 0) fail(errno, "symlink /dev/" + std::string(l[1]), errnoText(errno));
  }
  mkdirAll(dev + "/pts", 0755);
  mountOrFail("mount /dev/pts", "devpts", dev + "/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5");
  mkdirAll(dev + "/shm", 01777);
  mountOrFail("mount /dev/shm", "shm", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=1777,size=65536k");
  mkdirAll(dev + "/mqueue", 0755);
  // Optional: a kernel without POSIX message queues still runs containers.
  if (mount("mqueue", (dev + "/mqueue").c_str(), "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0 &&
      errno != ENODEV)
    fail(errno, "mount /dev/mqueue", errnoText(errno));
}

void loopbackUp() {
  Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) fail(errno, "socket lo", errnoText(errno));
  struct ifreq ifr {};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) fail(errno, "lo up", errnoText(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) fail(errno, "lo up", errnoText(errno));
}

void pivotInto(const std::string& rootfs) {
  if (chdir(rootfs.c_str()) < 0) fail(errno, "chdir rootfs", errnoText(errno));
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then drops it,
  // so no put_old directory is needed inside the image.
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(errno, "pivot_root", errnoText(errno));
  if (umount2(".", MNT_DETACH) < 0) fail(errno, "umount old root", errnoText(errno));
  if (chdir("/") < 0) fail(errno, "chdir /", errnoText(errno));
}

std::string readSmallFile(const char* path, bool& found) {
  found = false;
  Fd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  found = true;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

bool parseId(const std::string& s, unsigned long& out) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  out = strtoul(s.c_str(), nullptr, 10);
  return out <= 0xfffffffeUL;
}

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string home = "/";
};

// Resolved inside the container (after pivot_root) from its own /etc/passwd and /etc/group, parsed
// by hand: getpwnam() would load the host's NSS modules against the container's files.
Identity resolveUser(const Config& cfg) {
  Identity id;
  std::string spec = cfg.hasUser ? cfg.user : "0";
  std::string userPart = spec, groupPart;
  bool hasGroup = false;
  if (size_t colon = spec.find(':'); colon != std::string::npos) {
    userPart = spec.substr(0, colon);
    groupPart = spec.substr(colon + 1);
    hasGroup = true;
  }
  bool passwdFound = false, groupFound = false;
  std::string passwd = readSmallFile("/etc/passwd", passwdFound);
  std::string group = readSmallFile("/etc/group", groupFound);

  unsigned long num = 0;
  bool userNumeric = parseId(userPart, num);
  std::string userName;
  bool matched = false;
  for (const std::string& line : split(passwd, '\n')) {
    std::vector<std::string> f = split(line, ':');
    if (f.size() < 7) continue;
    unsigned long uid = 0, gid = 0;
    if (!parseId(f[2], uid) || !parseId(f[3], gid)) continue;
    if (userNumeric ? uid == num : f[0] == userPart) {
      id.uid = static_cast<uid_t>(uid);
      id.gid = static_cast<gid_t>(gid);
      id.home = f[5].empty() ? "/" : f[5];
      userName = f[0];
      matched = true;
      break;
    }
  }
  if (!matched) {
    if (!userNumeric)
      fail(ENOENT, "user", "unable to find user " + userPart + ": no matching entries in passwd file");
    id.uid = static_cast<uid_t>(num);
    id.gid = 0;
  }

  std::vector<std::string> groupLines = split(group, '\n');
  if (hasGroup) {
    unsigned long g = 0;
    bool groupNumeric = parseId(groupPart, g);
    bool groupMatched = groupNumeric;
    if (!groupNumeric) {
      for (const std::string& line : groupLines) {
        std::vector<std::string> f = split(line, ':');
        unsigned long gid = 0;
        if (f.size() >= 3 && f[0] == groupPart && parseId(f[2], gid)) {
          g = gid;
          groupMatched = true;
          break;
        }
      }
    }
    if (!groupMatched)
      fail(ENOENT, "user", "unable to find group " + groupPart + ": no matching entries in group file");
    id.gid = static_cast<gid_t>(g);
  } else if (!userName.empty()) {
    // Supplementary groups only when the group was not given explicitly, as Docker does.
    for (const std::string& line : groupLines) {
      std::vector<std::string> f = split(line, ':');
      unsigned long gid = 0;
      if (f.size() < 4 || !parseId(f[2], gid)) continue;
      for (const std::string& member : split(f[3], ','))
        if (member == userName && static_cast<gid_t>(gid) != id.gid) id.groups.push_back(static_cast<gid_t>(gid));
    }
  }
  return id;
}

// Docker's default capability set.
constexpr int kDefaultCaps[] = {CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,   CAP_FOWNER,           CAP_MKNOD,
                                CAP_NET_RAW, CAP_SETGID,       CAP_SETUID,   CAP_SETFCAP,          CAP_SETPCAP,
                                CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE};

bool isDefaultCap(int cap) {
  for (int c : kDefaultCaps)
    if (c == cap) return true;
  return false;
}

void dropCapabilities() {
  for (int cap = 0; cap < 64; cap++) {
    if (isDefaultCap(cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break;  // past the kernel's last capability
      fail(errno, "capabilities", "drop bounding capability " + std::to_string(cap) + ": " + errnoText(errno));
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    fail(errno, "capabilities", "clear ambient: " + errnoText(errno));
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int cap : kDefaultCaps) {
    data[cap / 32].effective |= 1u << (cap % 32);
    data[cap / 32].permitted |= 1u << (cap % 32);
  }
  // Inheritable stays empty, as in Docker since CVE-2022-24769: a non-empty inheritable set lets
  // files with inheritable file capabilities gain them across execve.
  if (syscall(SYS_capset, &hdr, data) < 0) fail(errno, "capabilities", "capset: " + errnoText(errno));
}

bool hasEnv(const std::vector<std::string>& env, const char* key) {
  size_t n = strlen(key);
  for (const std::string& e : env)
    if (e.size() > n && e.compare(0, n, key) == 0 && e[n] == '=') return true;
  return false;
}

std::string envValue(const std::vector<std::string>& env, const char* key) {
  size_t n = strlen(key);
  for (const std::string& e : env)
    if (e.size() > n && e.compare(0, n, key) == 0 && e[n] == '=') return e.substr(n + 1);
  return "";
}

std::string resolveExecutable(const std::string& arg0, const std::string& path) {
  if (arg0.find('/') != std::string::npos) return arg0;
  for (const std::string& dir : split(path, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + arg0;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  fail(ENOENT, "exec", "\"" + arg0 + "\": executable file not found in $PATH");
}

int childMain(void* raw) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(raw);
  const Config& cfg = *a.cfg;
  gSyncFd = a.syncFd;

  // Ignored signals survive execve; the shim's own choices must not leak into the container.
  signal(SIGHUP, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  if (dup2(a.nullFd, 0) < 0 || dup2(a.logFd, 1) < 0 || dup2(a.logFd, 2) < 0) fail(errno, "stdio", errnoText(errno));
  if (setsid() < 0) fail(errno, "setsid", errnoText(errno));
  umask(0);  // device nodes and dirs get exactly the modes asked for

  // Step 1: the prepared network namespace, before /sys is mounted so that sysfs is this netns's.
  if (a.netnsFd >= 0 && setns(a.netnsFd, CLONE_NEWNET) < 0) fail(errno, "setns netns", cfg.netns + ": " + errnoText(errno));

  // Step 2: mounts, all in the new mount namespace.
  mountOrFail("mount / rprivate", nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
  mountOrFail("bind rootfs", cfg.rootfs.c_str(), cfg.rootfs, nullptr, MS_BIND | MS_REC, nullptr);
  mkdirAll(cfg.rootfs + "/proc", 0555);
  mountOrFail("mount /proc", "proc", cfg.rootfs + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  setupDev(cfg.rootfs);
  mkdirAll(cfg.rootfs + "/sys", 0555);
  mountOrFail("mount /sys", "sysfs", cfg.rootfs + "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr);

  // Step 3: network and UTS.
  loopbackUp();
  if (!cfg.hostname.empty() && sethostname(cfg.hostname.data(), cfg.hostname.size()) < 0)
    fail(errno, "sethostname", errnoText(errno));

  // Step 4: pivot_root.
  pivotInto(cfg.rootfs);

  // Step 5: wait until the shim has put us into the cgroup: nothing of the image runs outside it.
  char go = 0;
  ssize_t n;
  do n = read(a.syncFd, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || go != 'g') _exit(126);  // the shim died or gave up; nobody is listening

  // Step 6: identity, capabilities, no_new_privs, user switch.
  Identity id = resolveUser(cfg);
  if (cfg.cwd != "/") {
    struct stat st {};
    if (stat(cfg.cwd.c_str(), &st) < 0) mkdirAll(cfg.cwd, 0755);  // as runc does for a missing workdir
  }
  dropCapabilities();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(errno, "no_new_privs", errnoText(errno));
  if (setgroups(id.groups.size(), id.groups.data()) < 0) fail(errno, "setgroups", errnoText(errno));
  if (setgid(id.gid) < 0) fail(errno, "setgid", errnoText(errno));
  // Leaving uid 0 clears the permitted/effective sets (no KEEPCAPS): a non-root user keeps only the
  // bounding set, like Docker.
  if (setuid(id.uid) < 0) fail(errno, "setuid", errnoText(errno));
  if (chdir(cfg.cwd.c_str()) < 0) fail(errno, "chdir " + cfg.cwd, errnoText(errno));

  // Step 7: environment and exec.
  std::vector<std::string> env = cfg.env;
  if (!hasEnv(env, "PATH")) env.push_back(std::string("PATH=") + kDefaultPath);
  if (!hasEnv(env, "HOSTNAME") && !cfg.hostname.empty()) env.push_back("HOSTNAME=" + cfg.hostname);
  if (!hasEnv(env, "HOME")) env.push_back("HOME=" + id.home);
  std::string exe = resolveExecutable(cfg.args[0], envValue(env, "PATH"));
  std::vector<char*> argv, envp;
  for (const std::string& s : cfg.args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (const std::string& s : env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  umask(022);
  execve(exe.c_str(), argv.data(), envp.data());
  fail(errno, "exec", "\"" + exe + "\": " + errnoText(errno));
}

// ---------------------------------------------------------------------------------------------
// Shim side.

// struct clone_args of clone3(2), spelled out to avoid mixing <linux/sched.h> with glibc's <sched.h>.
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

// fork-like clone3: returns 0 in the child, which runs on a copy of this stack. The child must not
// rely on glibc's cached thread id (raise/abort); childMain only makes raw syscalls and _exits.
pid_t cloneIntoCgroup(int namespaces, int cgroupFd) {
  CloneArgs ca{};
  ca.flags = static_cast<uint64_t>(namespaces) | kCloneIntoCgroup;
  ca.exit_signal = SIGCHLD;
  ca.cgroup = static_cast<uint64_t>(cgroupFd);
  return static_cast<pid_t>(syscall(SYS_clone3, &ca, sizeof ca));
}

std::string stateJson(const char* status, pid_t shimPid, unsigned long long shimStart, pid_t pid,
                      unsigned long long pidStart, int exitCode, int signal) {
  std::string s = std::string("{\"status\":\"") + status + "\",\"shimPid\":" + std::to_string(shimPid) +
                  ",\"shimStartTime\":" + std::to_string(shimStart) + ",\"pid\":" + std::to_string(pid) +
                  ",\"pidStartTime\":" + std::to_string(pidStart);
  if (exitCode >= 0) s += ",\"exitCode\":" + std::to_string(exitCode) + ",\"signal\":" + std::to_string(signal);
  return s + "}\n";
}

int runShim(const Config& cfg) {
  Fd logFd(open(cfg.logPath.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!logFd.valid()) {
    reportFailure(errno, "open log", cfg.logPath + ": " + errnoText(errno));
    return 1;
  }
  Fd nullFd(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!nullFd.valid()) {
    reportFailure(errno, "open /dev/null", errnoText(errno));
    return 1;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    reportFailure(errno, "socketpair", errnoText(errno));
    return 1;
  }
  Fd parentEnd(sv[0]), childEnd(sv[1]);

  // The child never returns to this stack frame: it execs or _exits, so a plain mapping suffices.
  constexpr size_t kStackSize = 1 << 20;
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    reportFailure(errno, "mmap stack", errnoText(errno));
    return 1;
  }
  // Opened here rather than in the child: a wrong path is reported before any namespace exists.
  // CLOEXEC keeps it out of the container; the child only needs it until setns.
  Fd netnsFd;
  if (!cfg.netns.empty()) {
    netnsFd.reset(open(cfg.netns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netnsFd.valid()) {
      reportFailure(errno, "open netns", cfg.netns + ": " + errnoText(errno));
      return 1;
    }
  }
  ChildArgs args{&cfg, childEnd.get(), logFd.get(), nullFd.get(), netnsFd.get()};
  const int namespaces =
      CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (netnsFd.valid() ? 0 : CLONE_NEWNET);
  bool joined = false;
  pid_t pid = -1;
  if (!cfg.cgroupV2Dir.empty()) {
    Fd cgroupFd(open(cfg.cgroupV2Dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!cgroupFd.valid()) {
      reportFailure(errno, "cgroup join", cfg.cgroupV2Dir + ": " + errnoText(errno));
      return 1;
    }
    pid = cloneIntoCgroup(namespaces, cgroupFd.get());
    if (pid == 0) childMain(&args);  // never returns
    if (pid > 0) joined = true;
    else if (errno != ENOSYS && errno != E2BIG && errno != EINVAL) {
      reportFailure(errno, "clone3", errnoText(errno));
      return 1;
    }
  }
  if (pid < 0) pid = clone(childMain, static_cast<char*>(stack) + kStackSize, namespaces | SIGCHLD, &args);
  if (pid < 0) {
    reportFailure(errno, "clone", errnoText(errno));
    return 1;
  }
  munmap(stack, kStackSize);
  childEnd.reset();
  netnsFd.reset();

  // The child sets up its mounts while we join the cgroup, so when a join or the "go" fails because
  // the child is already gone, the child's own failure record is the one worth reporting.
  auto abandonChild = [&](int err, const std::string& step, const std::string& message) {
    Failure early{};
    ssize_t got;
    do got = recv(parentEnd.get(), &early, sizeof early, MSG_DONTWAIT);
    while (got < 0 && errno == EINTR);
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (got == static_cast<ssize_t>(sizeof early)) {
      early.step[sizeof early.step - 1] = 0;
      early.message[sizeof early.message - 1] = 0;
      reportFailure(early.err, early.step, early.message);
    } else {
      reportFailure(err, step, message);
    }
    return 1;
  };

  std::string pidText = std::to_string(pid);
  for (const std::string& procs : joined ? std::vector<std::string>{} : cfg.cgroupProcs) {
    Fd f(open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (!f.valid() || !writeAll(f.get(), pidText)) {
      int err = errno;
      return abandonChild(err, "cgroup join", procs + ": " + errnoText(err));
    }
  }
  if (write(parentEnd.get(), "g", 1) != 1) return abandonChild(errno, "sync", errnoText(errno));

  Failure failure{};
  ssize_t n;
  do n = read(parentEnd.get(), &failure, sizeof failure);
  while (n < 0 && errno == EINTR);
  if (n != 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof failure)) {
      failure.step[sizeof failure.step - 1] = 0;
      failure.message[sizeof failure.message - 1] = 0;
      reportFailure(failure.err, failure.step, failure.message);
    } else {
      reportFailure(n < 0 ? errno : EPROTO, "sync", "short read from container init");
    }
    return 1;
  }
  parentEnd.reset();

  pid_t shimPid = getpid();
  unsigned long long shimStart = ProcessStartTime(shimPid);
  unsigned long long pidStart = ProcessStartTime(pid);
  writeState(cfg, stateJson("running", shimPid, shimStart, pid, pidStart, -1, 0));
  writeAll(kReportFd, "ok\t" + std::to_string(shimPid) + "\t" + pidText + "\n");
  close(kReportFd);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      writeState(cfg, stateJson("exited", shimPid, shimStart, pid, pidStart, 255, 0));
      return 1;
    }
  }
  int exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  writeState(cfg, stateJson("exited", shimPid, shimStart, pid, pidStart, exitCode, sig));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::string problem;
  if (!parseArgs(argc, argv, cfg, problem)) {
    reportFailure(EINVAL, "shim arguments", problem);
    return 2;
  }
  // Second fork of the double fork: the agent reaps our parent at once, and this process (in the
  // session the agent created for it) is reparented to init, so killing the agent leaves it alone.
  pid_t p = fork();
  if (p < 0) {
    reportFailure(errno, "fork shim", errnoText(errno));
    return 1;
  }
  if (p > 0) _exit(0);
  // Nothing inherited beyond stdio and the report pipe may reach the container, and not even the
  // report pipe: PID 1 holding its write end would keep the agent from ever seeing EOF.
  syscall(SYS_close_range, kReportFd + 1, ~0U, 0);
  fcntl(kReportFd, F_SETFD, FD_CLOEXEC);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  return runShim(cfg);
}
