// PID 1 of a container, from clone() to execve(). The sequence, each step failing as one record
// (errno, step, message) to the shim:
//
//   1. join the namespaces config.json gives a path for (user first), make the ones clone() could not
//   2. with a new user namespace: wait for "go" (the shim has written uid_map / gid_map)
//   3. mounts: "/" private, bind the rootfs, config.json's mounts in order (targets created and
//      resolved inside the rootfs), device nodes, /dev symlinks, the working directory
//   4. hostname, domainname, lo up
//   5. wait for "go" (the shim has joined us to the cgroup); a cgroup namespace now, then cgroup mounts
//   6. pivot_root; rootfs propagation; the terminal
//   7. sysctls, masked paths, read-only paths, a read-only root
//   8. rlimits, oom_score_adj, umask, cwd; the executable looked up in the container's PATH
//   9. seccomp (here when no_new_privs is off: loading it needs CAP_SYS_ADMIN, which step 10 drops)
//  10. capabilities: bounding set, supplementary groups, uid/gid (keeping caps), the five sets
//  11. no_new_privs; "ready" to the shim; wait for "start"
//  12. seccomp (here when no_new_privs is on: as late as possible), execve
//
// The shim joins the cgroup while steps 3-4 run (on cgroup v1 that join waits for an RCU grace
// period), so nothing of the image runs outside the cgroup, but the kernel-side setup overlaps the
// wait. Everything is CLOEXEC: the shim seeing EOF after "start" means execve succeeded.

#include "container.h"

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
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "fd.h"
#include "privileges.h"
#include "safe-path.h"
#include "seccomp.h"
#include "text.h"

namespace tsswarm {

namespace {

int gSyncFd = -1;

[[noreturn]] void Fail(int err, const std::string& step, const std::string& message) {
  InitRecord r{};
  r.kind = 1;
  r.err = err;
  snprintf(r.step, sizeof r.step, "%s", step.c_str());
  snprintf(r.message, sizeof r.message, "%s", message.c_str());
  ssize_t ignored = write(gSyncFd, &r, sizeof r);
  (void)ignored;
  _exit(127);
}

[[noreturn]] void FailErrno(const std::string& step, const std::string& detail = "") {
  int err = errno;
  Fail(err, step, detail.empty() ? ErrnoText(err) : detail + ": " + ErrnoText(err));
}

void WaitFor(char expected) {
  char c = 0;
  ssize_t n;
  do n = read(gSyncFd, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || c != expected) _exit(126);  // the shim died or gave up; nobody is listening
}

// ---------------------------------------------------------------------------------------------
// Step 3: mounts.

unsigned long LockedFlags(const char* path) {
  struct statvfs sv {};
  unsigned long out = 0;
  if (statvfs(path, &sv) == 0) {
    if (sv.f_flag & ST_NOSUID) out |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) out |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) out |= MS_NOEXEC;
  }
  return out;
}

// Mounts `m` with target resolved inside rootFd. Creates the target (a file for a bind of a file).
void MountOne(int rootFd, const Mount& m, const InitContext& ctx) {
  const std::string step = "mount " + m.destination;
  bool fileTarget = false;
  if (m.bind) {
    struct stat st {};
    if (stat(m.source.c_str(), &st) < 0) FailErrno(step, "bind source " + m.source);
    fileTarget = !S_ISDIR(st.st_mode);
  }
  std::string problem;
  if (int err = MkdirAllInRoot(rootFd, m.destination, fileTarget, problem)) Fail(err, step, problem);
  Fd target(OpenInRoot(rootFd, m.destination, O_PATH | O_NOFOLLOW));
  if (!target.valid()) FailErrno(step, "open target");
  std::string at = FdPath(target.get());

  unsigned long flags = m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (m.bind) {
    if (mount(m.source.c_str(), at.c_str(), nullptr, MS_BIND | (m.flags & MS_REC), nullptr) < 0) FailErrno(step, m.source);
    // Bind mounts take their flags only from a remount; reopen the target: it is a new mount now.
    if (flags != 0) {
      Fd mounted(OpenInRoot(rootFd, m.destination, O_PATH | O_NOFOLLOW));
      if (!mounted.valid()) FailErrno(step, "reopen target");
      struct statvfs sv {};
      unsigned long locked = 0;
      if (fstatvfs(mounted.get(), &sv) == 0) {
        // In a user namespace flags the host set (nosuid, nodev, noexec) cannot be cleared: keep them.
        if (sv.f_flag & ST_NOSUID) locked |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV) locked |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC) locked |= MS_NOEXEC;
      }
      if (mount(nullptr, FdPath(mounted.get()).c_str(), nullptr, MS_BIND | MS_REMOUNT | flags | locked, nullptr) < 0)
        FailErrno(step, "remount");
    }
  } else if (m.type == "cgroup" || m.type == "cgroup2") {
    if (ctx.cgroupVersion == 2 || m.type == "cgroup2") {
      if (mount("cgroup2", at.c_str(), "cgroup2", flags, nullptr) < 0) FailErrno(step);
    } else {
      // v1: a tmpfs with one mount per hierarchy. Inside a cgroup namespace each shows the container's
      // own cgroup as its root; without one, the container's directory on the host is bound instead.
      if (mount("tmpfs", at.c_str(), "tmpfs", flags & ~MS_RDONLY, "mode=755") < 0) FailErrno(step, "tmpfs");
      Fd base(OpenInRoot(rootFd, m.destination, O_PATH | O_DIRECTORY));
      if (!base.valid()) FailErrno(step, "reopen");
      bool cgroupNs = ctx.cfg->hasNamespace(CLONE_NEWCGROUP);
      for (size_t i = 0; i < ctx.cgroupHierarchies.size(); i++) {
        const std::string& h = ctx.cgroupHierarchies[i];
        if (mkdirat(base.get(), h.c_str(), 0755) < 0 && errno != EEXIST) FailErrno(step, "mkdir " + h);
        std::string sub = FdPath(base.get()) + "/" + h;
        std::string opts = i < ctx.cgroupMountOptions.size() ? ctx.cgroupMountOptions[i] : h;
        bool bindHost = !cgroupNs && i < ctx.cgroupHostDirs.size();
        int rc = bindHost ? mount(ctx.cgroupHostDirs[i].c_str(), sub.c_str(), nullptr, MS_BIND, nullptr)
                          : mount("cgroup", sub.c_str(), "cgroup", flags, opts.c_str());
        // v1 hierarchies cannot be mounted from a user namespace: its own directory, bound, instead.
        if (rc < 0 && errno == EPERM && !bindHost && i < ctx.cgroupHostDirs.size()) {
          bindHost = true;
          rc = mount(ctx.cgroupHostDirs[i].c_str(), sub.c_str(), nullptr, MS_BIND, nullptr);
        }
        if (rc < 0) FailErrno(step, h);
        if (bindHost && (flags & MS_RDONLY) && mount(nullptr, sub.c_str(), nullptr, MS_BIND | MS_REMOUNT | flags | LockedFlags(sub.c_str()), nullptr) < 0)
          FailErrno(step, "remount " + h);
        // "cpu,cpuacct" is also reachable as "cpu" and "cpuacct", as on the host.
        if (h.find(',') != std::string::npos)
          for (const std::string& c : Split(h, ','))
            if (symlinkat(h.c_str(), base.get(), c.c_str()) < 0 && errno != EEXIST) FailErrno(step, "symlink " + c);
      }
      if ((flags & MS_RDONLY) && mount(nullptr, FdPath(base.get()).c_str(), nullptr, MS_REMOUNT | flags, "mode=755") < 0)
        FailErrno(step, "remount tmpfs read-only");
    }
  } else {
    const char* data = m.data.empty() ? nullptr : m.data.c_str();
    const char* src = m.source.empty() ? m.type.c_str() : m.source.c_str();
    if (mount(src, at.c_str(), m.type.c_str(), flags, data) < 0) {
      // sysfs cannot be mounted in a user namespace that does not own the network namespace: bind it.
      if (errno == EPERM && m.type == "sysfs" && mount("/sys", at.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0) {
        Fd bound(OpenInRoot(rootFd, m.destination, O_PATH | O_NOFOLLOW));
        std::string b = bound.valid() ? FdPath(bound.get()) : at;
        if ((flags & MS_RDONLY) && mount(nullptr, b.c_str(), nullptr, MS_BIND | MS_REMOUNT | flags | LockedFlags(b.c_str()), nullptr) < 0)
          FailErrno(step, "remount the bound /sys read-only");
        return;
      }
      // mqueue is optional: a kernel without POSIX message queues still runs containers.
      if (errno == ENODEV && m.type == "mqueue") return;
      FailErrno(step, m.type);
    }
  }
  if (m.propagation != 0) {
    Fd mounted(OpenInRoot(rootFd, m.destination, O_PATH | O_NOFOLLOW));
    if (!mounted.valid() || mount(nullptr, FdPath(mounted.get()).c_str(), nullptr, m.propagation, nullptr) < 0)
      FailErrno(step, "propagation");
  }
}

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};
// The devices every container gets (runtime-spec "Default Devices").
constexpr DefaultDevice kDefaultDevices[] = {{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
                                             {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};

void CreateDevice(int rootFd, const DeviceNode& d, bool userns) {
  const std::string step = "device " + d.path;
  std::string problem;
  std::string parent = d.path.substr(0, d.path.rfind('/'));
  if (int err = MkdirAllInRoot(rootFd, parent, false, problem)) Fail(err, step, problem);
  Fd dir(OpenInRoot(rootFd, parent, O_PATH | O_DIRECTORY));
  if (!dir.valid()) FailErrno(step, parent);
  std::string name = d.path.substr(d.path.rfind('/') + 1);
  mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
  mode_t mode = d.fileMode != 0 ? (d.fileMode & 07777) : 0666;
  unlinkat(dir.get(), name.c_str(), 0);
  if (!userns && mknodat(dir.get(), name.c_str(), type | mode,
                         makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) == 0) {
    Fd node(openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (node.valid() && (d.hasUid || d.hasGid) &&
        fchownat(dir.get(), name.c_str(), d.hasUid ? d.uid : static_cast<uid_t>(-1), d.hasGid ? d.gid : static_cast<gid_t>(-1),
                 AT_SYMLINK_NOFOLLOW) < 0)
      FailErrno(step, "chown");
    return;
  }
  if (!userns && errno != EPERM) FailErrno(step, "mknod");
  // No CAP_MKNOD for the host's devices (user namespace): bind the host's node instead.
  Fd f(openat(dir.get(), name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666));
  if (!f.valid()) FailErrno(step, "create bind target");
  if (mount(d.path.c_str(), FdPath(f.get()).c_str(), nullptr, MS_BIND, nullptr) < 0) FailErrno(step, "bind host node");
}

void SetupDevices(int rootFd, const OciConfig& cfg) {
  bool userns = cfg.hasNamespace(CLONE_NEWUSER);
  for (const DefaultDevice& dd : kDefaultDevices) {
    bool listed = false;
    for (const DeviceNode& d : cfg.devices) listed = listed || d.path == dd.path;
    if (!listed) CreateDevice(rootFd, DeviceNode{dd.path, 'c', dd.major, dd.minor, 0666, false, false, 0, 0}, userns);
  }
  for (const DeviceNode& d : cfg.devices) CreateDevice(rootFd, d, userns);
  Fd dev(OpenInRoot(rootFd, "/dev", O_PATH | O_DIRECTORY));
  if (!dev.valid()) FailErrno("/dev symlinks", "open /dev");
  const char* links[][2] = {{"/proc/self/fd", "fd"},   {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
                            {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}};
  for (auto& l : links) {
    if (strcmp(l[1], "ptmx") == 0) unlinkat(dev.get(), "ptmx", 0);  // the runtime-spec's /dev/ptmx is the pts one
    if (symlinkat(l[0], dev.get(), l[1]) < 0 && errno != EEXIST) FailErrno("/dev symlinks", l[1]);
  }
}

void LoopbackUp() {
  Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) FailErrno("lo up", "socket");
  struct ifreq ifr {};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) FailErrno("lo up");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) FailErrno("lo up");
}

void PivotInto(const std::string& rootfs) {
  if (chdir(rootfs.c_str()) < 0) FailErrno("pivot_root", "chdir " + rootfs);
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then drops it,
  // so no put_old directory is needed inside the image.
  if (syscall(SYS_pivot_root, ".", ".") < 0) FailErrno("pivot_root");
  // Slave first, so that the detach below cannot propagate to the host's mounts.
  if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) FailErrno("pivot_root", "make old root slave");
  if (umount2(".", MNT_DETACH) < 0) FailErrno("pivot_root", "umount old root");
  if (chdir("/") < 0) FailErrno("pivot_root", "chdir /");
}

// ---------------------------------------------------------------------------------------------
// Step 6: the terminal. The pty is made inside the container (its devpts, so the container can name
// it: `tty` says /dev/pts/0), and the master goes to whoever listens on the console socket: the
// caller's --console-socket, or the shim's own socket pair when the shim relays it into the log
// (log-relay.h). The slave is PID 1's controlling terminal (PID 1 leads a session of its own since
// its setsid()) and its stdin, stdout and stderr.

void SendFd(int sock, int fd, const std::string& name) {
  char buf[CMSG_SPACE(sizeof(int))] = {};
  std::string payload = name;
  iovec iov{payload.data(), payload.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (sendmsg(sock, &msg, 0) < 0) FailErrno("console", "send the pty master");
}

void SetupTerminal(int consoleSocket, uid_t uid) {
  Fd master(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) FailErrno("console", "open /dev/ptmx");
  int unlock = 0;
  if (ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) FailErrno("console", "unlockpt");
  int slave = ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) FailErrno("console", "open the pty slave");
  // The process's own terminal, as runc makes it: reopening it (/dev/tty, /dev/pts/N) works after
  // the switch to the user too. The group stays the devpts mount's (tty).
  if (fchown(slave, uid, static_cast<gid_t>(-1)) < 0) FailErrno("console", "chown the pty slave");
  SendFd(consoleSocket, master.get(), "/dev/ptmx");
  close(consoleSocket);
  if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) FailErrno("console", "stdio");
  if (slave > 2) close(slave);
  if (ioctl(0, TIOCSCTTY, 0) < 0) FailErrno("console", "TIOCSCTTY");
}

// ---------------------------------------------------------------------------------------------
// Step 7: /proc and /sys after pivot_root.

void WriteSysctls(const OciConfig& cfg) {
  for (const auto& [key, value] : cfg.sysctl) {
    std::string path = "/proc/sys/";
    for (char c : key) path += c == '.' ? '/' : c;
    if (int err = WriteFile(path, value)) Fail(err, "sysctl " + key, ErrnoText(err));
  }
}

void MaskPaths(const OciConfig& cfg) {
  for (const std::string& p : cfg.maskedPaths) {
    struct stat st {};
    if (lstat(p.c_str(), &st) < 0) {
      if (errno == ENOENT) continue;
      FailErrno("mask " + p);
    }
    int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, "size=0k,mode=755")
                                 : mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
    if (rc < 0) FailErrno("mask " + p);
  }
}


void ReadonlyPaths(const OciConfig& cfg) {
  for (const std::string& p : cfg.readonlyPaths) {
    if (mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;
      FailErrno("read-only " + p);
    }
    if (mount(nullptr, p.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | LockedFlags(p.c_str()), nullptr) < 0)
      FailErrno("read-only " + p, "remount");
  }
}

// ---------------------------------------------------------------------------------------------
// Steps 8-12.

void LoadFilter(const InitContext& ctx) {
  std::string message;
  if (int err = LoadSeccompProgram(*ctx.seccomp, message)) Fail(err, "seccomp", message);
}

}  // namespace

int ContainerInit(void* raw) {
  const InitContext& ctx = *static_cast<const InitContext*>(raw);
  const OciConfig& cfg = *ctx.cfg;
  gSyncFd = ctx.syncFd;
  if (ctx.reportFd >= 0) close(ctx.reportFd);

  // Ignored signals survive execve; the shim's own choices must not leak into the container.
  for (int s : {SIGHUP, SIGINT, SIGPIPE, SIGTERM, SIGQUIT, SIGCHLD}) signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (setsid() < 0) FailErrno("setsid");
  umask(0);  // device nodes and mount targets get exactly the modes asked for; step 8 sets the process's

  // Step 1: namespaces with a path, user first so that it owns the ones made after it.
  const Namespace* user = cfg.findNamespace(CLONE_NEWUSER);
  int unshareFlags = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < cfg.namespaces.size(); i++) {
      const Namespace& n = cfg.namespaces[i];
      if ((pass == 0) != (n.flag == CLONE_NEWUSER)) continue;
      if (n.path.empty()) {
        if (!(ctx.cloneFlags & n.flag)) unshareFlags |= n.flag;
        continue;
      }
      if (ctx.nsFds[i] < 0) continue;  // joined by the shim before clone (pid, network, ipc, uts)
      if (setns(ctx.nsFds[i], n.flag) < 0) FailErrno("setns " + n.type, n.path);
      close(ctx.nsFds[i]);
    }
  }
  // The cgroup namespace waits until the cgroup is joined (step 5).
  bool cgroupNsLater = (unshareFlags & CLONE_NEWCGROUP) != 0;
  unshareFlags &= ~(CLONE_NEWCGROUP | CLONE_NEWPID | CLONE_NEWUSER);
  if (unshareFlags != 0 && unshare(unshareFlags) < 0) FailErrno("unshare");

  // Step 2: a new user namespace is useless until its ids are mapped.
  bool newUserns = user != nullptr && user->path.empty();
  bool waited = false;
  if (newUserns) {
    WaitFor(kMsgGo);
    waited = true;
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) FailErrno("user namespace", "become root");
  }

  // Step 3: mounts, all in the container's mount namespace.
  bool mountNs = cfg.hasNamespace(CLONE_NEWNS);
  Fd rootFd;
  if (mountNs) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) FailErrno("mount / private");
    if (mount(cfg.rootPath.c_str(), cfg.rootPath.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
      FailErrno("bind rootfs", cfg.rootPath);
    rootFd.reset(open(cfg.rootPath.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootFd.valid()) FailErrno("open rootfs", cfg.rootPath);
    for (const Mount& m : cfg.mounts)
      if (m.type != "cgroup" && m.type != "cgroup2") MountOne(rootFd.get(), m, ctx);
    SetupDevices(rootFd.get(), cfg);
    std::string problem;
    if (int err = MkdirAllInRoot(rootFd.get(), cfg.cwd, false, problem)) Fail(err, "cwd", problem);
  }

  // Step 4: UTS and network.
  if (!cfg.hostname.empty() && sethostname(cfg.hostname.data(), cfg.hostname.size()) < 0) FailErrno("sethostname");
  if (!cfg.domainname.empty() && setdomainname(cfg.domainname.data(), cfg.domainname.size()) < 0) FailErrno("setdomainname");
  if (ctx.cloneFlags & CLONE_NEWNET) LoopbackUp();

  // Step 5: in the cgroup from here on; then its namespace and the cgroup mounts.
  if (!waited) WaitFor(kMsgGo);
  if (cgroupNsLater && unshare(CLONE_NEWCGROUP) < 0) FailErrno("unshare cgroup");
  if (mountNs)
    for (const Mount& m : cfg.mounts)
      if (m.type == "cgroup" || m.type == "cgroup2") MountOne(rootFd.get(), m, ctx);

  // Step 6: the new root.
  if (mountNs) {
    rootFd.reset();
    PivotInto(cfg.rootPath);
    if (cfg.rootfsPropagation != 0 && mount(nullptr, "/", nullptr, cfg.rootfsPropagation, nullptr) < 0)
      FailErrno("rootfs propagation");
  } else if (chroot(cfg.rootPath.c_str()) < 0 || chdir("/") < 0) {
    FailErrno("chroot", cfg.rootPath);
  }
  if (cfg.terminal) {
    if (ctx.consoleSocket < 0) Fail(EINVAL, "console", "process.terminal is set but no --console-socket was given");
    SetupTerminal(ctx.consoleSocket, cfg.uid);
  }

  // Step 7: /proc/sys while it is writable, then the masks.
  WriteSysctls(cfg);
  MaskPaths(cfg);
  ReadonlyPaths(cfg);
  if (cfg.rootReadonly && mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | LockedFlags("/"), nullptr) < 0)
    FailErrno("read-only root");

  // Step 8: limits and the process's surroundings.
  if (StepError e = ApplyLimits(cfg)) Fail(e.err, e.step, e.message);
  if (chdir(cfg.cwd.c_str()) < 0) FailErrno("chdir " + cfg.cwd);
  std::string exe;
  if (StepError e = ResolveExecutable(cfg.args[0], cfg.env, exe)) Fail(e.err, e.step, e.message);

  // Steps 9-11: privileges.
  if (ctx.seccomp != nullptr && !cfg.noNewPrivileges) LoadFilter(ctx);
  if (StepError e = TakeIdentity(cfg, newUserns)) Fail(e.err, e.step, e.message);
  if (cfg.noNewPrivileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) FailErrno("no_new_privs");
  umask(cfg.hasUmask ? cfg.umask : 022);

  InitRecord ready{};
  ready.kind = 0;
  if (write(gSyncFd, &ready, sizeof ready) != static_cast<ssize_t>(sizeof ready)) _exit(126);
  WaitFor(kMsgStart);

  // Step 12.
  if (ctx.seccomp != nullptr && cfg.noNewPrivileges) LoadFilter(ctx);
  // docker-init (init: true) takes its signals with sigtimedwait. A signal sent in the moment between
  // execve and its first instructions would find PID 1 without a handler and be dropped; blocked, it
  // stays pending until the init takes it (the kernel never ignores a blocked signal).
  if (cfg.args[0] == "/sbin/docker-init") {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
  }
  std::vector<char*> argv, envp;
  for (const std::string& s : cfg.args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (const std::string& s : cfg.env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  execve(exe.c_str(), argv.data(), envp.data());
  FailErrno("exec", "\"" + exe + "\"");
}

}  // namespace tsswarm
