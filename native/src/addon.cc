// tsswarm_native: the few syscalls the agent's runtime cannot make from Node.
//
// Convention: a syscall failure is a return value `{ errno, syscall, message }`, never a thrown
// exception (agent/runtime/native.ts turns it into a NativeError). Only a call with arguments of the
// wrong type throws, because that is a bug in native.ts, not a runtime condition.

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <napi.h>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fd.h"
#include "proc.h"
#include "safe-path.h"
#include "text.h"

using tsswarm::Fd;
using tsswarm::ProcessStartTime;

namespace {

Napi::Value Failure(Napi::Env env, int err, const std::string& syscallName, const std::string& detail) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("errno", Napi::Number::New(env, err));
  o.Set("syscall", Napi::String::New(env, syscallName));
  o.Set("message", Napi::String::New(env, detail.empty() ? strerror(err) : detail + ": " + strerror(err)));
  return o;
}

Napi::Value TypeError(Napi::Env env, const char* what) {
  Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool IsStringOrNull(const Napi::Value& v) { return v.IsString() || v.IsNull(); }

// mount(source|null, target, fstype|null, flags, data|null) -> null | failure
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5 || !IsStringOrNull(info[0]) || !info[1].IsString() || !IsStringOrNull(info[2]) ||
      !info[3].IsNumber() || !IsStringOrNull(info[4]))
    return TypeError(env, "mount(source, target, fstype, flags, data)");
  std::string source = info[0].IsNull() ? "" : info[0].As<Napi::String>().Utf8Value();
  std::string target = info[1].As<Napi::String>().Utf8Value();
  std::string fstype = info[2].IsNull() ? "" : info[2].As<Napi::String>().Utf8Value();
  unsigned long flags = static_cast<unsigned long>(info[3].As<Napi::Number>().Int64Value());
  std::string data = info[4].IsNull() ? "" : info[4].As<Napi::String>().Utf8Value();
  if (mount(info[0].IsNull() ? nullptr : source.c_str(), target.c_str(), info[2].IsNull() ? nullptr : fstype.c_str(),
            flags, info[4].IsNull() ? nullptr : data.c_str()) < 0)
    return Failure(env, errno, "mount", "mount " + target);
  return env.Null();
}

// umount(target, flags) -> null | failure
Napi::Value Umount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsNumber()) return TypeError(env, "umount(target, flags)");
  std::string target = info[0].As<Napi::String>().Utf8Value();
  if (umount2(target.c_str(), info[1].As<Napi::Number>().Int32Value()) < 0)
    return Failure(env, errno, "umount2", "umount " + target);
  return env.Null();
}

// Keeps an fd out of 0..3 so that dup2(fd, 3) in the child really clears CLOEXEC.
int AboveReportFd(int fd) {
  if (fd > 3) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  int err = errno;
  close(fd);
  errno = err;
  return moved;
}

struct SpawnAttrs {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnAttrs() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnAttrs() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnAttrs(const SpawnAttrs&) = delete;
  SpawnAttrs& operator=(const SpawnAttrs&) = delete;
};

// spawnRuntime(path, args, logPath) -> Promise<{ fd } | failure>
//
// posix_spawn (vfork-style in glibc) instead of fork: copying the page tables of a large Node process
// costs milliseconds per container. The spawned tsswarm-runtime forks the shim and exits at once (it
// is reaped here); the shim is never the agent's child, so the container outlives the agent. Its
// stdout and stderr (which the container inherits) are logPath, appended to; stdin is /dev/null. The
// result is the read end of the report pipe (the runtime's fd 3); the caller reads one line.
//
// Off the main thread: under load (a deploy starting a hundred containers on two cores) waiting for
// each runtime process to be scheduled and exit would stall the agent's event loop, and with it its
// heartbeats.
class SpawnWorker : public Napi::AsyncWorker {
 public:
  SpawnWorker(Napi::Env env, std::string path, std::vector<std::string> args, std::string logPath)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)),
        args_(std::move(args)), logPath_(std::move(logPath)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::vector<char*> argv;
    for (std::string& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Opened here, so a bad log path is an error of this call and not a silent container without output.
    Fd log(open(logPath_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
    if (!log.valid()) return fail(errno, "open", logPath_);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return fail(errno, "pipe2", "report pipe");
    Fd readEnd(AboveReportFd(p[0]));
    Fd writeEnd(AboveReportFd(p[1]));
    Fd logFd(AboveReportFd(log.release()));
    if (!readEnd.valid() || !writeEnd.valid() || !logFd.valid()) return fail(errno, "fcntl", "report pipe");

    SpawnAttrs sa;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&sa.attr, &none);
    posix_spawnattr_setsigdefault(&sa.attr, &all);  // Node ignores SIGPIPE; the container must not inherit that
    posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_addopen(&sa.actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&sa.actions, logFd.get(), 1);
    posix_spawn_file_actions_adddup2(&sa.actions, logFd.get(), 2);
    posix_spawn_file_actions_adddup2(&sa.actions, writeEnd.get(), 3);

    pid_t pid = -1;
    char* envp[] = {nullptr};
    int rc = posix_spawn(&pid, path_.c_str(), &sa.actions, &sa.attr, argv.data(), envp);
    if (rc != 0) return fail(rc, "posix_spawn", path_);
    writeEnd.reset();  // only the shim may hold the write end, or the reader never sees EOF
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return fail(errno, "waitpid", "runtime launcher");
    }
    fd_ = readEnd.release();
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) return deferred_.Resolve(Failure(env, err_, syscall_, detail_));
    Napi::Object out = Napi::Object::New(env);
    out.Set("fd", Napi::Number::New(env, fd_));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  void fail(int err, const char* sc, const std::string& detail) {
    err_ = err;
    syscall_ = sc;
    detail_ = detail;
  }
  Napi::Promise::Deferred deferred_;
  std::string path_;
  std::vector<std::string> args_;
  std::string logPath_;
  int fd_ = -1, err_ = 0;
  std::string syscall_, detail_;
};

Napi::Value SpawnRuntime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsString())
    return TypeError(env, "spawnRuntime(path, args, logPath)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Array arr = info[1].As<Napi::Array>();
  std::vector<std::string> args{path};
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString()) return TypeError(env, "spawnRuntime: args must be strings");
    args.push_back(v.As<Napi::String>().Utf8Value());
  }
  auto* w = new SpawnWorker(env, path, std::move(args), info[2].As<Napi::String>().Utf8Value());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// readFileInRoot(root, path, maxBytes) -> { text } | null (no such file) | failure
//
// A file of a container's root filesystem (/etc/passwd of an image), resolved inside `root` as if it
// were "/" (safe-path.cc): a symlink in the image cannot make the agent read a file of the host.
Napi::Value ReadFileInRoot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsNumber())
    return TypeError(env, "readFileInRoot(root, path, maxBytes)");
  std::string root = info[0].As<Napi::String>().Utf8Value();
  std::string path = info[1].As<Napi::String>().Utf8Value();
  size_t maxBytes = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
  Fd rootFd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootFd.valid()) return Failure(env, errno, "open", root);
  Fd f(tsswarm::OpenInRoot(rootFd.get(), path, O_RDONLY | O_NONBLOCK));
  if (!f.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return env.Null();
    return Failure(env, errno, "openat2", path);
  }
  struct stat st {};
  if (fstat(f.get(), &st) < 0) return Failure(env, errno, "fstat", path);
  if (!S_ISREG(st.st_mode)) return Failure(env, EINVAL, "openat2", path + " is not a regular file");
  std::string text = tsswarm::ReadFd(f.get(), maxBytes);
  Napi::Object out = Napi::Object::New(env);
  out.Set("text", Napi::String::New(env, text));
  return out;
}

// openPty(rows, cols) -> { master, slave } | failure
//
// A pty pair of the host's devpts, both ends CLOEXEC, sized rows x cols: an interactive exec runs
// `tsswarm-runtime exec -t` with the slave as its stdio (its terminal, which it relays to the
// container's own pty), and the agent reads and writes the master.
Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsNumber()) return TypeError(env, "openPty(rows, cols)");
  Fd master(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) return Failure(env, errno, "posix_openpt", "");
  if (grantpt(master.get()) < 0) return Failure(env, errno, "grantpt", "");
  if (unlockpt(master.get()) < 0) return Failure(env, errno, "unlockpt", "");
  char name[64];
  if (ptsname_r(master.get(), name, sizeof name) != 0) return Failure(env, errno, "ptsname", "");
  Fd slave(open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave.valid()) return Failure(env, errno, "open", name);
  struct winsize ws {};
  ws.ws_row = static_cast<unsigned short>(info[0].As<Napi::Number>().Uint32Value());
  ws.ws_col = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  if ((ws.ws_row != 0 || ws.ws_col != 0) && ioctl(master.get(), TIOCSWINSZ, &ws) < 0) return Failure(env, errno, "ioctl", "TIOCSWINSZ");
  Napi::Object out = Napi::Object::New(env);
  out.Set("master", Napi::Number::New(env, master.release()));
  out.Set("slave", Napi::Number::New(env, slave.release()));
  return out;
}

// setWindowSize(fd, rows, cols) -> null | failure: the size of the pty whose master (or slave) is fd.
Napi::Value SetWindowSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
    return TypeError(env, "setWindowSize(fd, rows, cols)");
  struct winsize ws {};
  ws.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  ws.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), TIOCSWINSZ, &ws) < 0) return Failure(env, errno, "ioctl", "TIOCSWINSZ");
  return env.Null();
}

// signalProcess(pid, startTime, signal) -> null | failure
//
// Race-free against pid reuse: the pidfd pins one process; if its start time is the one recorded
// when the container started, the signal goes to that process and no other. ESRCH when it is gone.
Napi::Value SignalProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
    return TypeError(env, "signalProcess(pid, startTime, signal)");
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  unsigned long long startTime = static_cast<unsigned long long>(info[1].As<Napi::Number>().Int64Value());
  int sig = info[2].As<Napi::Number>().Int32Value();
  if (pid <= 0) return Failure(env, EINVAL, "pidfd_open", "pid " + std::to_string(pid));
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return Failure(env, errno, "pidfd_open", "pid " + std::to_string(pid));
  if (ProcessStartTime(pid) != startTime) return Failure(env, ESRCH, "pidfd_open", "pid " + std::to_string(pid) + " was reused");
  if (syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0)
    return Failure(env, errno, "pidfd_send_signal", "pid " + std::to_string(pid));
  return env.Null();
}

// ---------------------------------------------------------------------------------------------
// Network namespaces for the agent's sandboxes (agent/network). Each call runs on a thread of its
// own: unshare(CLONE_NEWNET) and setns(CLONE_NEWNET) change only the calling thread, so the work
// happens inside the sandbox without a process (a spawn from Node costs ~2 ms, this ~0.1 ms) and
// without moving Node's main thread or a libuv pool thread (which would be reused) out of the
// agent's own namespace. The thread ends with the call, and its namespace reference with it.

struct NetFailure {
  int err = 0;
  std::string syscallName, detail;
  bool failed() const { return err != 0; }
  void set(int e, const char* sc, const std::string& d) {
    err = e;
    syscallName = sc;
    detail = d;
  }
};

template <typename F>
NetFailure OnOwnThread(F&& f) {
  NetFailure out;
  std::thread t([&] { f(out); });
  t.join();
  return out;
}

bool SetFlagsUp(int sock, const std::string& ifname, NetFailure& f) {
  struct ifreq ifr {};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) return f.set(errno, "ioctl", "SIOCGIFFLAGS " + ifname), false;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) return f.set(errno, "ioctl", "SIOCSIFFLAGS " + ifname), false;
  return true;
}

// netnsCreate(path) -> null | failure
//
// A new network namespace with lo up, kept alive by a bind mount of its nsfs file on `path` (as
// `ip netns add` does under /run/netns, but anywhere). `path` must not exist; on failure nothing is
// left behind.
Napi::Value NetnsCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) return TypeError(env, "netnsCreate(path)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  NetFailure f = OnOwnThread([&](NetFailure& out) {
    Fd file(open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!file.valid()) return out.set(errno, "open", "create " + path);
    file.reset();
    if (unshare(CLONE_NEWNET) < 0) {
      out.set(errno, "unshare", "CLONE_NEWNET");
    } else {
      Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      if (!sock.valid()) out.set(errno, "socket", "lo up");
      else if (SetFlagsUp(sock.get(), "lo", out) &&
               mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) < 0)
        out.set(errno, "mount", "bind netns on " + path);
    }
    if (out.failed()) unlink(path.c_str());
  });
  if (f.failed()) return Failure(env, f.err, f.syscallName, f.detail);
  return env.Null();
}

bool ParseIpv4(const std::string& s, in_addr& out) { return inet_pton(AF_INET, s.c_str(), &out) == 1; }

void SetSockaddr(struct sockaddr& sa, in_addr addr) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr = addr;
  memcpy(&sa, &sin, sizeof sin);
}

// netnsConfigureIpv4(netnsPath, ifname, address, prefixLen, gateway|null) -> null | failure
//
// Inside the namespace: `address/prefixLen` on ifname, ifname up, and a default route via gateway
// when given. The legacy ioctls do exactly this much without a netlink encoder; the kernel adds
// the prefix route itself once the interface is up.
Napi::Value NetnsConfigureIpv4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString() || !info[3].IsNumber() ||
      !IsStringOrNull(info[4]))
    return TypeError(env, "netnsConfigureIpv4(netnsPath, ifname, address, prefixLen, gateway)");
  std::string nsPath = info[0].As<Napi::String>().Utf8Value();
  std::string ifname = info[1].As<Napi::String>().Utf8Value();
  std::string address = info[2].As<Napi::String>().Utf8Value();
  int prefixLen = info[3].As<Napi::Number>().Int32Value();
  bool hasGateway = info[4].IsString();
  std::string gateway = hasGateway ? info[4].As<Napi::String>().Utf8Value() : "";
  in_addr addr{}, gw{}, mask{};
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return Failure(env, EINVAL, "ifname", ifname);
  if (!ParseIpv4(address, addr)) return Failure(env, EINVAL, "inet_pton", address);
  if (hasGateway && !ParseIpv4(gateway, gw)) return Failure(env, EINVAL, "inet_pton", gateway);
  if (prefixLen < 0 || prefixLen > 32) return Failure(env, EINVAL, "prefixLen", std::to_string(prefixLen));
  mask.s_addr = htonl(prefixLen == 0 ? 0 : ~0U << (32 - prefixLen));

  NetFailure f = OnOwnThread([&](NetFailure& out) {
    Fd ns(open(nsPath.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) return out.set(errno, "open", nsPath);
    if (setns(ns.get(), CLONE_NEWNET) < 0) return out.set(errno, "setns", nsPath);
    Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) return out.set(errno, "socket", nsPath);
    struct ifreq ifr {};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
    SetSockaddr(ifr.ifr_addr, addr);
    if (ioctl(sock.get(), SIOCSIFADDR, &ifr) < 0) return out.set(errno, "ioctl", "SIOCSIFADDR " + ifname);
    SetSockaddr(ifr.ifr_netmask, mask);
    if (ioctl(sock.get(), SIOCSIFNETMASK, &ifr) < 0) return out.set(errno, "ioctl", "SIOCSIFNETMASK " + ifname);
    if (!SetFlagsUp(sock.get(), ifname, out)) return;
    if (!hasGateway) return;
    struct rtentry rt {};
    in_addr any{};
    SetSockaddr(rt.rt_dst, any);
    SetSockaddr(rt.rt_genmask, any);
    SetSockaddr(rt.rt_gateway, gw);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = ifname.data();
    if (ioctl(sock.get(), SIOCADDRT, &rt) < 0) out.set(errno, "ioctl", "SIOCADDRT default via " + gateway);
  });
  if (f.failed()) return Failure(env, f.err, f.syscallName, f.detail);
  return env.Null();
}

// ---------------------------------------------------------------------------------------------
// nftables rulesets through libnftables, in this process. The agent writes a ruleset into every
// sandbox when it is created and whenever a service's VIP backends change; `nsenter --net=X nft -f -`
// costs two execs (~4 ms of CPU) per write, which a deploy of many tasks pays many times over.
// The library is opened with dlopen, so that building needs no libnftables headers and a host
// without the library (the nftables package brings it) still works: nftApply then fails with
// ENOSYS and the caller runs the nft program instead.

using NftCtx = void;
struct NftLib {
  NftCtx* (*ctxNew)(uint32_t) = nullptr;
  void (*ctxFree)(NftCtx*) = nullptr;
  int (*bufferOutput)(NftCtx*) = nullptr;
  int (*bufferError)(NftCtx*) = nullptr;
  const char* (*errorBuffer)(NftCtx*) = nullptr;
  int (*runFromBuffer)(NftCtx*, const char*) = nullptr;
  std::string loadError;
};

template <typename T>
void Bind(void* handle, const char* name, T& slot, std::string& err) {
  slot = reinterpret_cast<T>(dlsym(handle, name));
  if (slot == nullptr && err.empty()) err = std::string("libnftables.so.1 has no ") + name;
}

const NftLib& Nft() {
  static const NftLib lib = [] {
    NftLib l;
    void* h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* e = dlerror();
      l.loadError = e != nullptr ? e : "dlopen libnftables.so.1 failed";
      return l;
    }
    Bind(h, "nft_ctx_new", l.ctxNew, l.loadError);
    Bind(h, "nft_ctx_free", l.ctxFree, l.loadError);
    Bind(h, "nft_ctx_buffer_output", l.bufferOutput, l.loadError);
    Bind(h, "nft_ctx_buffer_error", l.bufferError, l.loadError);
    Bind(h, "nft_ctx_get_error_buffer", l.errorBuffer, l.loadError);
    Bind(h, "nft_run_cmd_from_buffer", l.runFromBuffer, l.loadError);
    return l;
  }();
  return lib;
}

// libnftables sets up some process-wide state in the first nft_ctx_new (unguarded) and releases a
// global interface cache in nft_ctx_free; contexts are otherwise independent, so only those two
// calls are serialised. The rulesets run concurrently: the kernel's wait when rules are replaced
// (~15 ms) is per namespace, and a refresh of many sandboxes would otherwise queue behind it.
// (Our rulesets match interfaces by name only, so the interface cache is never filled.)
std::mutex nftLifecycleMutex;

class NftWorker : public Napi::AsyncWorker {
 public:
  NftWorker(Napi::Env env, std::string nsPath, bool hasNs, std::string script)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), nsPath_(std::move(nsPath)),
        hasNs_(hasNs), script_(std::move(script)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    const NftLib& lib = Nft();
    if (!lib.loadError.empty()) return failure_.set(ENOSYS, "dlopen", lib.loadError);
    // A thread of its own: setns moves only it, and it ends with the call (pool threads are reused).
    failure_ = OnOwnThread([&](NetFailure& out) {
      if (hasNs_) {
        Fd ns(open(nsPath_.c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns.valid()) return out.set(errno, "open", nsPath_);
        if (setns(ns.get(), CLONE_NEWNET) < 0) return out.set(errno, "setns", nsPath_);
      }
      NftCtx* ctx = nullptr;
      {
        std::lock_guard<std::mutex> hold(nftLifecycleMutex);
        // Made after setns: its netlink socket belongs to the sandbox's namespace.
        ctx = lib.ctxNew(0);
      }
      if (ctx == nullptr) return out.set(ENOMEM, "nft_ctx_new", nsPath_);
      lib.bufferOutput(ctx);
      lib.bufferError(ctx);
      if (lib.runFromBuffer(ctx, script_.c_str()) != 0) {
        const char* e = lib.errorBuffer(ctx);
        std::string msg = e != nullptr ? e : "";
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
        out.set(EINVAL, "nft", msg.empty() ? "ruleset rejected" : msg);
      }
      std::lock_guard<std::mutex> hold(nftLifecycleMutex);
      lib.ctxFree(ctx);
    });
  }

  void OnOK() override {
    Napi::Env env = Env();
    deferred_.Resolve(failure_.failed() ? Failure(env, failure_.err, failure_.syscallName, failure_.detail) : env.Null());
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string nsPath_;
  bool hasNs_;
  std::string script_;
  NetFailure failure_;
};

// nftApply(netnsPath|null, script) -> Promise<null | failure>
//
// Runs `script` (what `nft -f` reads) inside the network namespace at netnsPath, or this thread's
// own namespace for null, off the main thread.
Napi::Value NftApply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !IsStringOrNull(info[0]) || !info[1].IsString()) return TypeError(env, "nftApply(netnsPath, script)");
  bool hasNs = info[0].IsString();
  auto* w = new NftWorker(env, hasNs ? info[0].As<Napi::String>().Utf8Value() : "", hasNs, info[1].As<Napi::String>().Utf8Value());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---------------------------------------------------------------------------------------------
// Idmapped mounts for user-namespace remapping (`--userns-remap`): an image layer is shown to a
// container's remapped root as its own (uid 0 in the layer = the host's subordinate uid) without a
// copy. A mapping needs a user namespace to name it: made once per mapping by a short-lived child
// and kept open (its fd keeps the namespace alive after the child exits).

struct UsernsKey {
  uint32_t uid, gid, size;
  bool operator<(const UsernsKey& o) const {
    return uid != o.uid ? uid < o.uid : gid != o.gid ? gid < o.gid : size < o.size;
  }
};
std::mutex usernsMutex;
std::map<UsernsKey, int> usernsFds;

// An fd of a user namespace mapping 0..size-1 onto host uid/gid..+size; -1 with errno on failure.
int UsernsFd(const UsernsKey& k, std::string& step) {
  std::lock_guard<std::mutex> hold(usernsMutex);
  auto it = usernsFds.find(k);
  if (it != usernsFds.end()) return it->second;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return step = "pipe2", -1;
  // fork in a threaded process: the child only makes raw syscalls until it _exits.
  pid_t child = fork();
  if (child < 0) {
    close(p[0]);
    close(p[1]);
    return step = "fork", -1;
  }
  if (child == 0) {
    close(p[1]);
    char b;
    if (unshare(CLONE_NEWUSER) < 0) _exit(1);
    ssize_t ignored = read(p[0], &b, 1);  // until the parent has what it needs
    (void)ignored;
    _exit(0);
  }
  close(p[0]);
  Fd release(p[1]);
  std::string base = "/proc/" + std::to_string(child);
  std::string uidMap = "0 " + std::to_string(k.uid) + " " + std::to_string(k.size) + "\n";
  std::string gidMap = "0 " + std::to_string(k.gid) + " " + std::to_string(k.size) + "\n";
  // The child is in its namespace once its user ns link differs from ours.
  for (int i = 0; i < 2000; i++) {
    char a[64] = {}, b[64] = {};
    if (readlink((base + "/ns/user").c_str(), a, sizeof a - 1) > 0 && readlink("/proc/self/ns/user", b, sizeof b - 1) > 0 &&
        strcmp(a, b) != 0)
      break;
    usleep(100);
  }
  int fd = -1;
  int err = 0;
  if (tsswarm::WriteFile(base + "/uid_map", uidMap) != 0) err = errno, step = "uid_map";
  else if (tsswarm::WriteFile(base + "/gid_map", gidMap) != 0) err = errno, step = "gid_map";
  else if ((fd = open((base + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC)) < 0) err = errno, step = "open user namespace";
  release.reset();
  while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (fd < 0) {
    errno = err;
    return -1;
  }
  usernsFds[k] = fd;
  return fd;
}

// idmapMount(source, target, uid, gid, size) -> null | failure
//
// Binds `source` on `target` (an existing directory) with ids 0..size-1 shown as uid/gid..+size
// (open_tree + mount_setattr(MOUNT_ATTR_IDMAP) + move_mount, Linux 5.12+). EINVAL/EOPNOTSUPP when the
// filesystem cannot be idmapped: the caller copies the layer instead.
Napi::Value IdmapMount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5 || !info[0].IsString() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsNumber() ||
      !info[4].IsNumber())
    return TypeError(env, "idmapMount(source, target, uid, gid, size)");
  std::string source = info[0].As<Napi::String>().Utf8Value();
  std::string target = info[1].As<Napi::String>().Utf8Value();
  UsernsKey k{info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Uint32Value(),
              info[4].As<Napi::Number>().Uint32Value()};
  std::string step;
  int userns = UsernsFd(k, step);
  if (userns < 0) return Failure(env, errno, step, "user namespace for the mapping");
  Fd tree(static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!tree.valid()) return Failure(env, errno, "open_tree", source);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns);
  if (syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    return Failure(env, errno, "mount_setattr", source);
  if (syscall(SYS_move_mount, tree.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return Failure(env, errno, "move_mount", target);
  return env.Null();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
  exports.Set("umount", Napi::Function::New(env, Umount, "umount"));
  exports.Set("spawnRuntime", Napi::Function::New(env, SpawnRuntime, "spawnRuntime"));
  exports.Set("readFileInRoot", Napi::Function::New(env, ReadFileInRoot, "readFileInRoot"));
  exports.Set("signalProcess", Napi::Function::New(env, SignalProcess, "signalProcess"));
  exports.Set("openPty", Napi::Function::New(env, OpenPty, "openPty"));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize, "setWindowSize"));
  exports.Set("netnsCreate", Napi::Function::New(env, NetnsCreate, "netnsCreate"));
  exports.Set("netnsConfigureIpv4", Napi::Function::New(env, NetnsConfigureIpv4, "netnsConfigureIpv4"));
  exports.Set("nftApply", Napi::Function::New(env, NftApply, "nftApply"));
  exports.Set("idmapMount", Napi::Function::New(env, IdmapMount, "idmapMount"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("MS_RDONLY", Napi::Number::New(env, MS_RDONLY));
  c.Set("MS_NOSUID", Napi::Number::New(env, MS_NOSUID));
  c.Set("MS_NODEV", Napi::Number::New(env, MS_NODEV));
  c.Set("MS_NOEXEC", Napi::Number::New(env, MS_NOEXEC));
  c.Set("MS_BIND", Napi::Number::New(env, MS_BIND));
  c.Set("MS_REC", Napi::Number::New(env, MS_REC));
  c.Set("MS_PRIVATE", Napi::Number::New(env, MS_PRIVATE));
  c.Set("MNT_DETACH", Napi::Number::New(env, MNT_DETACH));
  exports.Set("constants", c);
  return exports;
}

}  // namespace

NODE_API_MODULE(tsswarm_native, Init)
