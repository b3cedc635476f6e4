// See privileges.h.

#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "text.h"

namespace tsswarm {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

StepError Errno(const std::string& step, const std::string& detail) {
  int err = errno;
  return StepError{err, step, detail.empty() ? ErrnoText(err) : detail + ": " + ErrnoText(err)};
}

// The highest capability this kernel knows.
int LastCap() {
  int last = 0;
  for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) last = cap;
  return last;
}

}  // namespace

StepError DropBounding(const Capabilities& c) {
  int last = LastCap();
  for (int cap = 0; cap <= last; cap++) {
    if (c.bounding & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) return Errno("capabilities", "drop bounding capability " + std::to_string(cap));
  }
  return {};
}

StepError SwitchUser(const OciConfig& cfg, bool setgroupsAllowed) {
  // Keep the permitted set across the uid change; SetCapabilities then sets exactly the configured sets.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return Errno("user", "keepcaps");
  if (setgroupsAllowed && setgroups(cfg.additionalGids.size(), cfg.additionalGids.data()) < 0) return Errno("user", "setgroups");
  if (setresgid(cfg.gid, cfg.gid, cfg.gid) < 0) return Errno("user", "setgid " + std::to_string(cfg.gid));
  if (setresuid(cfg.uid, cfg.uid, cfg.uid) < 0) return Errno("user", "setuid " + std::to_string(cfg.uid));
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return Errno("user", "keepcaps");
  return {};
}

StepError SetCapabilities(const Capabilities& c) {
  int last = LastCap();
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int cap = 0; cap <= last; cap++) {
    uint32_t bit = 1u << (cap % 32);
    if (c.effective & (1ULL << cap)) data[cap / 32].effective |= bit;
    if (c.permitted & (1ULL << cap)) data[cap / 32].permitted |= bit;
    if (c.inheritable & (1ULL << cap)) data[cap / 32].inheritable |= bit;
  }
  if (syscall(SYS_capset, &hdr, data) < 0) return Errno("capabilities", "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return Errno("capabilities", "clear ambient");
  // The kernel only takes an ambient capability that is also permitted and inheritable; runc's
  // default spec lists ambient ones without inheritable (since CVE-2022-24769), and runc skips them.
  uint64_t raisable = c.ambient & c.permitted & c.inheritable;
  for (int cap = 0; cap <= last; cap++)
    if ((raisable & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      return Errno("capabilities", "raise ambient " + std::to_string(cap));
  return {};
}

StepError ApplyLimits(const OciConfig& cfg) {
  for (const Rlimit& r : cfg.rlimits) {
    rlimit lim{static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (setrlimit(r.resource, &lim) < 0) return Errno("rlimit " + std::to_string(r.resource), "");
  }
  if (cfg.hasOomScoreAdj) {
    if (int err = WriteFile("/proc/self/oom_score_adj", std::to_string(cfg.oomScoreAdj)))
      return StepError{err, "oom_score_adj", ErrnoText(err)};
  }
  return {};
}

StepError TakeIdentity(const OciConfig& cfg, bool inNewUserns) {
  bool setgroupsAllowed = true;
  if (inNewUserns) {
    bool found = false;
    int err = 0;
    setgroupsAllowed = ReadSmallFile("/proc/self/setgroups", found, err, 64).rfind("deny", 0) != 0;
  }
  if (cfg.hasCapabilities)
    if (StepError e = DropBounding(cfg.caps)) return e;
  if (StepError e = SwitchUser(cfg, setgroupsAllowed)) return e;
  if (cfg.hasCapabilities) return SetCapabilities(cfg.caps);
  return {};
}

StepError ResolveExecutable(const std::string& arg0, const std::vector<std::string>& env, std::string& out) {
  if (arg0.find('/') != std::string::npos) {
    out = arg0;
    return {};
  }
  std::string path = kDefaultPath;
  for (const std::string& e : env)
    if (e.compare(0, 5, "PATH=") == 0) path = e.substr(5);
  for (const std::string& dir : Split(path, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + arg0;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0) {
      out = candidate;
      return {};
    }
  }
  return StepError{ENOENT, "exec", "\"" + arg0 + "\": executable file not found in $PATH"};
}

}  // namespace tsswarm
