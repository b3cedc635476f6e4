// See cgroup.h.

#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "devices.h"
#include "fd.h"
#include "text.h"

namespace tsswarm {

namespace {

bool Exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

std::string Read(const std::string& p) {
  bool found = false;
  int err = 0;
  std::string s = ReadSmallFile(p.c_str(), found, err, 65536);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool IsV2(const std::string& root) { return Exists(root + "/cgroup.controllers"); }

// The v1 hierarchies mounted under root: every directory with a cgroup.procs that is not a cgroup2
// mount, deduplicated by real path (cpu and cpuacct are often one "cpu,cpuacct" mount).
std::vector<std::string> V1Hierarchies(const std::string& root) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  DIR* d = opendir(root.c_str());
  if (d == nullptr) return out;
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    std::string dir = root + "/" + n;
    if (!Exists(dir + "/cgroup.procs") || Exists(dir + "/cgroup.controllers")) continue;
    char real[PATH_MAX];
    std::string key = realpath(dir.c_str(), real) != nullptr ? real : dir;
    if (!seen.insert(key).second) continue;
    out.push_back(dir);
  }
  return out;
}

std::string Base(const std::string& dir) { return dir.substr(dir.rfind('/') + 1); }

// The options that mount the v1 hierarchy at `dir` again (its controllers, or "none,name=X"), from
// this process's mountinfo; the directory name where it is not a mount (a fake tree).
std::string HierarchyOptions(const std::string& dir) {
  bool found = false;
  int err = 0;
  std::string info = ReadSmallFile("/proc/self/mountinfo", found, err, 1 << 22);
  for (const std::string& line : Split(info, '\n')) {
    size_t sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::vector<std::string> left = Split(line.substr(0, sep), ' '), right = Split(line.substr(sep + 3), ' ');
    if (left.size() < 5 || right.size() < 3 || right[0] != "cgroup" || left[4] != dir) continue;
    std::vector<std::string> opts;
    bool named = false;
    for (const std::string& o : Split(right[2], ',')) {
      if (o == "rw" || o == "ro" || o.empty()) continue;
      if (o.rfind("name=", 0) == 0) named = true;
      opts.push_back(o);
    }
    if (named && opts.size() == 1) opts.insert(opts.begin(), "none");
    return Join(opts, ",");
  }
  return Base(dir);
}

// mkdir -p of `rel` under `base`; records the directories it made so a failure can undo them.
int MkdirUnder(const std::string& base, const std::string& rel, std::vector<std::string>& made, std::string& message) {
  std::string cur = base;
  for (const std::string& part : Split(rel, '/')) {
    if (part.empty()) continue;
    cur += "/" + part;
    if (mkdir(cur.c_str(), 0755) == 0) {
      made.push_back(cur);
    } else if (errno != EEXIST) {
      message = "mkdir " + cur + ": " + ErrnoText(errno);
      return errno;
    }
  }
  return 0;
}

// A new v1 cpuset cgroup has no cpus or mems, and nobody can join it until they are set: copy them
// down from the nearest ancestor that has them.
int FillCpuset(const std::string& hierarchy, const std::string& dir, std::string& message) {
  std::vector<std::string> chain;
  for (std::string cur = dir; cur.size() > hierarchy.size(); cur = cur.substr(0, cur.rfind('/'))) chain.push_back(cur);
  std::reverse(chain.begin(), chain.end());
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    std::string value = Read(hierarchy + "/" + file);
    for (const std::string& c : chain) {
      std::string mine = Read(c + "/" + file);
      if (!mine.empty()) {
        value = mine;
        continue;
      }
      if (int err = WriteFile(c + "/" + file, value)) {
        message = "write " + c + "/" + file + ": " + ErrnoText(err);
        return err;
      }
    }
  }
  return 0;
}

struct Writer {
  std::string& message;
  int set(const std::string& file, const std::string& value) {
    if (int err = WriteFile(file, value)) {
      message = "write \"" + value + "\" to " + file + ": " + ErrnoText(err);
      return err;
    }
    return 0;
  }
};

int ApplyV1(const CgroupSet& set, const Resources& r, std::string& message) {
  Writer w{message};
  auto dirOf = [&](const char* controller) -> std::string {
    for (size_t i = 0; i < set.dirs.size() && i < set.hierarchies.size(); i++)
      for (const std::string& c : Split(set.hierarchies[i], ','))
        if (c == controller) return set.dirs[i];
    return "";
  };
  auto need = [&](const char* controller, const char* why) -> std::string {
    std::string d = dirOf(controller);
    if (d.empty()) message = std::string(why) + " needs the " + controller + " cgroup controller, which is not mounted";
    return d;
  };
  int err = 0;
  if (r.memoryLimit > 0 || r.memoryReservation > 0 || r.memorySwap > 0 || r.memorySwappiness >= 0 || r.disableOomKiller) {
    std::string m = need("memory", "a memory limit");
    if (m.empty()) return ENOENT;
    if (r.memoryLimit > 0 && (err = w.set(m + "/memory.limit_in_bytes", std::to_string(r.memoryLimit)))) return err;
    if (r.memoryReservation > 0 && (err = w.set(m + "/memory.soft_limit_in_bytes", std::to_string(r.memoryReservation))))
      return err;
    if (r.memorySwap > 0 && Exists(m + "/memory.memsw.limit_in_bytes") &&
        (err = w.set(m + "/memory.memsw.limit_in_bytes", std::to_string(r.memorySwap))))
      return err;
    if (r.memorySwappiness >= 0 && (err = w.set(m + "/memory.swappiness", std::to_string(r.memorySwappiness)))) return err;
    if (r.disableOomKiller && (err = w.set(m + "/memory.oom_control", "1"))) return err;
  }
  if (r.cpuShares > 0 || r.cpuQuota != 0 || r.cpuPeriod > 0) {
    std::string c = need("cpu", "a CPU limit");
    if (c.empty()) return ENOENT;
    if (r.cpuShares > 0 && (err = w.set(c + "/cpu.shares", std::to_string(r.cpuShares)))) return err;
    if (r.cpuPeriod > 0 && (err = w.set(c + "/cpu.cfs_period_us", std::to_string(r.cpuPeriod)))) return err;
    if (r.cpuQuota != 0 && (err = w.set(c + "/cpu.cfs_quota_us", std::to_string(r.cpuQuota)))) return err;
  }
  if (!r.cpusetCpus.empty() || !r.cpusetMems.empty()) {
    std::string c = need("cpuset", "a cpuset");
    if (c.empty()) return ENOENT;
    if (!r.cpusetCpus.empty() && (err = w.set(c + "/cpuset.cpus", r.cpusetCpus))) return err;
    if (!r.cpusetMems.empty() && (err = w.set(c + "/cpuset.mems", r.cpusetMems))) return err;
  }
  if (r.pidsLimit != 0) {
    std::string p = need("pids", "a pids limit");
    if (p.empty()) return ENOENT;
    if ((err = w.set(p + "/pids.max", r.pidsLimit < 0 ? "max" : std::to_string(r.pidsLimit)))) return err;
  }
  if (r.blkioWeight > 0) {
    std::string b = dirOf("blkio");
    if (!b.empty() && (err = w.set(b + "/blkio.weight", std::to_string(r.blkioWeight)))) return err;
  }
  if (r.hasDevices) {
    if (set.devicesDir.empty()) {
      message = "a device allowlist needs the devices cgroup controller, which is not mounted";
      return ENOENT;
    }
    if ((err = ApplyDevicesV1(set.devicesDir, r.devices, message))) return err;
  }
  return 0;
}

std::set<std::string> Controllers(const std::string& dir) {
  std::set<std::string> out;
  for (const std::string& c : Split(Read(dir + "/cgroup.controllers"), ' '))
    if (!c.empty()) out.insert(c);
  return out;
}

// The controllers a limit needs must be enabled in every ancestor's subtree_control.
int EnableV2(const std::string& root, const std::string& rel, const std::set<std::string>& wanted, std::string& message) {
  if (wanted.empty()) return 0;
  std::string cur = root;
  std::vector<std::string> parts;
  for (const std::string& p : Split(rel, '/'))
    if (!p.empty()) parts.push_back(p);
  for (size_t i = 0; i + 1 < parts.size() + 1; i++) {
    std::set<std::string> enabled;
    for (const std::string& c : Split(Read(cur + "/cgroup.subtree_control"), ' ')) enabled.insert(c);
    std::string add;
    for (const std::string& c : wanted)
      if (!enabled.count(c)) add += (add.empty() ? "+" : " +") + c;
    if (!add.empty()) {
      if (int err = WriteFile(cur + "/cgroup.subtree_control", add)) {
        message = "write \"" + add + "\" to " + cur + "/cgroup.subtree_control: " + ErrnoText(err);
        return err;
      }
    }
    if (i + 1 >= parts.size()) break;  // the leaf's own subtree_control stays empty: it holds processes
    cur += "/" + parts[i];
  }
  return 0;
}

int ApplyV2(const std::string& root, const CgroupSet& set, const Resources& r, std::string& message) {
  Writer w{message};
  const std::string& d = set.dirs[0];
  int err = 0;
  if (r.memoryLimit > 0 && (err = w.set(d + "/memory.max", std::to_string(r.memoryLimit)))) return err;
  if (r.memoryReservation > 0 && (err = w.set(d + "/memory.low", std::to_string(r.memoryReservation)))) return err;
  if (r.memorySwap > 0 && r.memoryLimit > 0 && Exists(d + "/memory.swap.max") &&
      (err = w.set(d + "/memory.swap.max", std::to_string(std::max<int64_t>(0, r.memorySwap - r.memoryLimit)))))
    return err;
  if (r.cpuShares > 0) {
    // cgroup v1 shares [2, 262144] onto v2 weight [1, 10000], as runc converts them.
    uint64_t weight = 1 + ((std::max<uint64_t>(r.cpuShares, 2) - 2) * 9999) / 262142;
    if ((err = w.set(d + "/cpu.weight", std::to_string(weight)))) return err;
  }
  if (r.cpuQuota != 0 || r.cpuPeriod > 0) {
    std::string quota = r.cpuQuota > 0 ? std::to_string(r.cpuQuota) : "max";
    if ((err = w.set(d + "/cpu.max", quota + " " + std::to_string(r.cpuPeriod > 0 ? r.cpuPeriod : 100000)))) return err;
  }
  if (!r.cpusetCpus.empty() && (err = w.set(d + "/cpuset.cpus", r.cpusetCpus))) return err;
  if (!r.cpusetMems.empty() && (err = w.set(d + "/cpuset.mems", r.cpusetMems))) return err;
  if (r.pidsLimit != 0 && (err = w.set(d + "/pids.max", r.pidsLimit < 0 ? "max" : std::to_string(r.pidsLimit)))) return err;
  if (r.blkioWeight > 0 && Exists(d + "/io.weight") &&
      (err = w.set(d + "/io.weight", std::to_string(1 + (r.blkioWeight - 10) * 9999 / 990))))
    return err;
  for (const auto& [key, value] : r.unified) {
    if (key.find('/') != std::string::npos || key.find("..") != std::string::npos) {
      message = "linux.resources.unified: invalid key \"" + key + "\"";
      return EINVAL;
    }
    if ((err = w.set(d + "/" + key, value))) return err;
  }
  if (r.hasDevices) {
    Fd dirFd(open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirFd.valid()) {
      int e = errno;
      message = "open " + d + ": " + ErrnoText(e);
      return e;
    }
    // A fake tree (tests) is not a cgroup2 filesystem: the program can only attach to a real one.
    if (IsV2(root) && (err = ApplyDevicesV2(dirFd.get(), r.devices, message))) return err;
  }
  return 0;
}

void Sleep(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

long NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

}  // namespace

bool PlanCgroup(const std::string& root, const std::string& cgroupsPath, const std::string& id, CgroupSet& out,
                std::string& problem) {
  std::string rel = cgroupsPath.empty() ? "/" + id : cgroupsPath;
  if (rel[0] != '/') rel = "/" + rel;
  // systemd-style "slice:prefix:name" paths are not supported: say so rather than make odd directories.
  if (rel.find(':') != std::string::npos) {
    problem = "linux.cgroupsPath: systemd cgroup paths (\"slice:prefix:name\") are not supported: " + cgroupsPath;
    return false;
  }
  while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
  if (rel == "/") {
    problem = "linux.cgroupsPath: must name a cgroup below the root";
    return false;
  }
  out = CgroupSet{};
  if (IsV2(root)) {
    out.version = 2;
    out.dirs.push_back(root + rel);
    return true;
  }
  out.version = 1;
  for (const std::string& h : V1Hierarchies(root)) {
    out.dirs.push_back(h + rel);
    std::string name = Base(h);
    out.hierarchies.push_back(name);
    out.mountOptions.push_back(HierarchyOptions(h));
    for (const std::string& c : Split(name, ','))
      if (c == "devices") out.devicesDir = h + rel;
      else if (c == "freezer") out.freezerDir = h + rel;
  }
  if (out.dirs.empty()) {
    problem = "no cgroup hierarchy is mounted under " + root;
    return false;
  }
  return true;
}

int CreateCgroup(const std::string& root, const CgroupSet& set, const Resources& res, std::string& message) {
  std::vector<std::string> made;
  int err = 0;
  if (set.version == 2) {
    std::string rel = set.dirs[0].substr(root.size());
    std::set<std::string> avail = Controllers(root), wanted;
    auto want = [&](const char* c, bool needed, const char* why) -> bool {
      if (!needed) return true;
      if (!avail.count(c)) {
        message = std::string(why) + " needs the " + c + " controller, which " + root + " does not offer";
        return false;
      }
      wanted.insert(c);
      return true;
    };
    if (!want("memory", res.memoryLimit > 0 || res.memoryReservation > 0, "a memory limit") ||
        !want("cpu", res.cpuShares > 0 || res.cpuQuota != 0 || res.cpuPeriod > 0, "a CPU limit") ||
        !want("cpuset", !res.cpusetCpus.empty() || !res.cpusetMems.empty(), "a cpuset") ||
        !want("pids", res.pidsLimit != 0, "a pids limit"))
      return ENOTSUP;
    if (avail.count("io") && res.blkioWeight > 0) wanted.insert("io");
    // Also what the root offers and the parent already enables for its other children: stats work.
    for (const char* c : {"cpu", "memory", "pids"})
      if (avail.count(c)) wanted.insert(c);
    std::string parentRel = rel.substr(0, rel.rfind('/'));
    if ((err = MkdirUnder(root, parentRel, made, message)) == 0 && (err = EnableV2(root, rel, wanted, message)) == 0 &&
        (err = MkdirUnder(root, rel, made, message)) == 0)
      err = ApplyV2(root, set, res, message);
  } else {
    for (size_t i = 0; i < set.dirs.size() && i < set.hierarchies.size(); i++) {
      const std::string hierarchy = root + "/" + set.hierarchies[i];
      const std::string& dir = set.dirs[i];
      if ((err = MkdirUnder(hierarchy, dir.substr(hierarchy.size()), made, message))) break;
      for (const std::string& c : Split(set.hierarchies[i], ','))
        if (c == "cpuset" && (err = FillCpuset(hierarchy, dir, message))) break;
      if (err) break;
    }
    if (err == 0) err = ApplyV1(set, res, message);
  }
  if (err != 0) {
    for (auto it = made.rbegin(); it != made.rend(); ++it) rmdir(it->c_str());
  }
  return err;
}

int JoinCgroup(const CgroupSet& set, pid_t pid, std::string& message) {
  std::string text = std::to_string(pid);
  for (const std::string& d : set.dirs) {
    if (int err = WriteFile(d + "/cgroup.procs", text)) {
      message = d + "/cgroup.procs: " + ErrnoText(err);
      return err;
    }
  }
  return 0;
}

bool CgroupFrozen(const CgroupSet& set) {
  if (set.version == 2) return set.dirs.empty() ? false : Read(set.dirs[0] + "/cgroup.events").find("frozen 1") != std::string::npos;
  return !set.freezerDir.empty() && Read(set.freezerDir + "/freezer.state") == "FROZEN";
}

int FreezeCgroup(const CgroupSet& set, bool frozen, std::string& message) {
  std::string file, value;
  if (set.version == 2) {
    if (set.dirs.empty()) return ENOENT;
    file = set.dirs[0] + "/cgroup.freeze";
    value = frozen ? "1" : "0";
  } else {
    if (set.freezerDir.empty()) {
      message = "pausing needs the freezer cgroup controller, which is not mounted";
      return ENOTSUP;
    }
    file = set.freezerDir + "/freezer.state";
    value = frozen ? "FROZEN" : "THAWED";
  }
  if (int err = WriteFile(file, value)) {
    message = "write " + value + " to " + file + ": " + ErrnoText(err);
    return err;
  }
  // Freezing is asynchronous: wait until the kernel reports every task frozen (or thawed).
  long deadline = NowMs() + 5000;
  for (long delay = 1; CgroupFrozen(set) != frozen; delay = std::min(delay * 2, 20L)) {
    if (NowMs() > deadline) {
      message = file + ": still not " + (frozen ? "frozen" : "thawed") + " after 5s";
      return ETIMEDOUT;
    }
    if (set.version == 1 && frozen) WriteFile(file, value);  // v1 may stay FREEZING until asked again
    Sleep(delay);
  }
  return 0;
}

std::vector<pid_t> CgroupPids(const CgroupSet& set) {
  std::vector<pid_t> out;
  if (set.dirs.empty()) return out;
  for (const std::string& line : Split(Read(set.dirs[0] + "/cgroup.procs"), '\n')) {
    long v = strtol(line.c_str(), nullptr, 10);
    if (v > 0) out.push_back(static_cast<pid_t>(v));
  }
  return out;
}

int RemoveCgroup(const CgroupSet& set, int timeoutMs, std::string& message) {
  long start = NowMs();
  bool killed = false;
  std::vector<std::string> pending = set.dirs;
  for (long delay = 1;; delay = std::min(delay * 2, 50L)) {
    std::vector<std::string> still;
    for (const std::string& d : pending) {
      if (rmdir(d.c_str()) == 0 || errno == ENOENT) continue;
      if (errno != EBUSY) {
        message = "rmdir " + d + ": " + ErrnoText(errno);
        return errno;
      }
      still.push_back(d);
    }
    pending = still;
    if (pending.empty()) return 0;
    long now = NowMs();
    if (now - start > timeoutMs) {
      message = "cgroup " + pending[0] + " still busy after " + std::to_string(timeoutMs) + "ms";
      return EBUSY;
    }
    if (!killed && now - start > timeoutMs / 4) {
      killed = true;
      // A frozen cgroup's processes cannot die: thaw first.
      std::string ignored;
      if (CgroupFrozen(set)) FreezeCgroup(set, false, ignored);
      if (set.version == 2 && WriteFile(pending[0] + "/cgroup.kill", "1") == 0) continue;
      for (const std::string& d : pending)
        for (const std::string& line : Split(Read(d + "/cgroup.procs"), '\n')) {
          long v = strtol(line.c_str(), nullptr, 10);
          if (v > 0) kill(static_cast<pid_t>(v), SIGKILL);
        }
    }
    Sleep(delay);
  }
}

}  // namespace tsswarm
