// Parsing and checking of config.json (see oci-config.h). nlohmann::json without exceptions
// escaping: every type is checked before it is read, so a bad file is one line naming the field.

#include "oci-config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "fd.h"
#include "json-fields.h"
#include "text.h"

namespace tsswarm {

using json = nlohmann::json;

bool OciConfig::hasNamespace(int flag) const { return findNamespace(flag) != nullptr; }

const Namespace* OciConfig::findNamespace(int flag) const {
  for (const Namespace& n : namespaces)
    if (n.flag == flag) return &n;
  return nullptr;
}

namespace {

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

const char* const kCapNames[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",        "CAP_FSETID",
    "CAP_KILL",            "CAP_SETGID",         "CAP_SETUID",          "CAP_SETPCAP",       "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",       "CAP_NET_RAW",       "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",       "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",      "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",           "CAP_LEASE",         "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",        "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",     "CAP_SYSLOG",
    "CAP_WAKE_ALARM",      "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",      "CAP_PERFMON",       "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

struct Rl {
  const char* name;
  int resource;
};
const Rl kRlimits[] = {{"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
                       {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
                       {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
                       {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
                       {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
                       {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
                       {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
                       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK}};

struct Ns {
  const char* type;
  int flag;
};
const Ns kNamespaces[] = {{"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
                          {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
                          {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};

struct MountOpt {
  const char* name;
  bool clear;
  unsigned long flag;
};
// mount(8)'s flag options; anything else is filesystem data.
const MountOpt kMountFlags[] = {
    {"async", true, MS_SYNCHRONOUS}, {"atime", true, MS_NOATIME},       {"bind", false, MS_BIND},
    {"defaults", false, 0},          {"dev", true, MS_NODEV},           {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},  {"exec", true, MS_NOEXEC},         {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},  {"nodev", false, MS_NODEV},        {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},    {"nomand", true, MS_MANDLOCK},     {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"nosuid", false, MS_NOSUID}, {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME}, {"remount", false, MS_REMOUNT},   {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},         {"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS}};
const MountOpt kPropagation[] = {{"private", false, MS_PRIVATE},   {"rprivate", false, MS_PRIVATE | MS_REC},
                                 {"shared", false, MS_SHARED},     {"rshared", false, MS_SHARED | MS_REC},
                                 {"slave", false, MS_SLAVE},       {"rslave", false, MS_SLAVE | MS_REC},
                                 {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC}};

struct Checker : JsonFields {
  explicit Checker(std::string& problem) : JsonFields(problem, "config.json: ") {}
};

const json* member(const json& j, const char* key) { return JsonFields::member(j, key); }

std::string idx(const std::string& field, size_t i) { return field + "[" + std::to_string(i) + "]"; }

bool parseCapSet(Checker& c, const json& j, const std::string& field, uint64_t& out) {
  std::vector<std::string> names;
  if (!c.strings(j, field, names)) return false;
  for (const std::string& n : names) {
    bool found = false;
    for (size_t i = 0; i < sizeof kCapNames / sizeof kCapNames[0]; i++) {
      if (n == kCapNames[i]) {
        out |= 1ULL << i;
        found = true;
        break;
      }
    }
    if (!found) return c.fail(field, "unknown capability \"" + n + "\"");
  }
  return true;
}

bool parseIdMappings(Checker& c, const json& j, const std::string& field, std::vector<IdMapping>& out) {
  if (!j.is_array()) return c.fail(field, "must be an array");
  for (size_t i = 0; i < j.size(); i++) {
    const json& m = j[i];
    std::string f = idx(field, i);
    if (!c.object(m, f)) return false;
    IdMapping map{};
    const json* cid = member(m, "containerID");
    const json* hid = member(m, "hostID");
    const json* size = member(m, "size");
    if (!cid || !hid || !size) return c.fail(f, "needs containerID, hostID and size");
    if (!c.u32(*cid, f + ".containerID", map.containerId) || !c.u32(*hid, f + ".hostID", map.hostId) ||
        !c.u32(*size, f + ".size", map.size))
      return false;
    if (map.size == 0) return c.fail(f + ".size", "must be positive");
    out.push_back(map);
  }
  return true;
}

bool parseMountOptions(Checker& c, Mount& m, const std::string& field) {
  std::vector<std::string> data;
  for (const std::string& o : m.options) {
    bool known = false;
    for (const MountOpt& f : kMountFlags) {
      if (o == f.name) {
        if (f.clear) m.flags &= ~f.flag;
        else m.flags |= f.flag;
        known = true;
        break;
      }
    }
    if (!known) {
      for (const MountOpt& p : kPropagation) {
        if (o == p.name) {
          m.propagation |= p.flag;
          known = true;
          break;
        }
      }
    }
    // Options that only describe the mount for other tools, or that runc knows and we do not need.
    if (!known && (o == "tmpcopyup" || o == "rro" || o == "rrw" || o == "idmap" || o == "ridmap")) {
      if (o == "rro") m.flags |= MS_RDONLY;
      known = true;
    }
    if (!known) {
      if (o.find(',') != std::string::npos) return c.fail(field, "option \"" + o + "\" must not contain ','");
      data.push_back(o);
    }
  }
  m.bind = (m.flags & MS_BIND) != 0 || m.type == "bind";
  if (m.bind) m.flags |= MS_BIND;
  m.data = Join(data, ",");
  return true;
}

bool parseMounts(Checker& c, const json& j, OciConfig& cfg) {
  if (!j.is_array()) return c.fail("mounts", "must be an array");
  for (size_t i = 0; i < j.size(); i++) {
    const json& mj = j[i];
    std::string f = idx("mounts", i);
    if (!c.object(mj, f)) return false;
    Mount m;
    const json* dest = member(mj, "destination");
    if (!dest) return c.fail(f + ".destination", "is required");
    if (!c.str(*dest, f + ".destination", m.destination)) return false;
    if (m.destination.empty() || m.destination[0] != '/')
      return c.fail(f + ".destination", "\"" + m.destination + "\" must be an absolute path");
    if (const json* t = member(mj, "type"); t && !c.str(*t, f + ".type", m.type)) return false;
    if (const json* s = member(mj, "source"); s && !c.str(*s, f + ".source", m.source)) return false;
    if (const json* o = member(mj, "options"); o && !c.strings(*o, f + ".options", m.options)) return false;
    if (!parseMountOptions(c, m, f + ".options")) return false;
    if (m.bind && m.source.empty()) return c.fail(f + ".source", "a bind mount needs a source");
    // A relative bind source is relative to the bundle (runtime-spec: "relative to the bundle").
    if (m.bind && m.source[0] != '/') m.source = cfg.bundle + "/" + m.source;
    if (m.type.empty() && !m.bind) return c.fail(f + ".type", "is required for a mount that is not a bind mount");
    cfg.mounts.push_back(std::move(m));
  }
  return true;
}

bool parseProcess(Checker& c, const json& p, OciConfig& cfg) {
  if (!c.object(p, "process")) return false;
  cfg.hasProcess = true;
  if (const json* t = member(p, "terminal"); t && !c.boolean(*t, "process.terminal", cfg.terminal)) return false;
  const json* user = member(p, "user");
  if (user) {
    if (!c.object(*user, "process.user")) return false;
    if (const json* u = member(*user, "uid"); u && !c.u32(*u, "process.user.uid", cfg.uid)) return false;
    if (const json* g = member(*user, "gid"); g && !c.u32(*g, "process.user.gid", cfg.gid)) return false;
    if (const json* m = member(*user, "umask")) {
      if (!c.u32(*m, "process.user.umask", cfg.umask)) return false;
      cfg.hasUmask = true;
    }
    if (const json* ag = member(*user, "additionalGids")) {
      if (!ag->is_array()) return c.fail("process.user.additionalGids", "must be an array");
      for (size_t i = 0; i < ag->size(); i++) {
        uint32_t g;
        if (!c.u32((*ag)[i], idx("process.user.additionalGids", i), g)) return false;
        cfg.additionalGids.push_back(g);
      }
    }
  }
  const json* args = member(p, "args");
  if (!args) return c.fail("process.args", "is required");
  if (!c.strings(*args, "process.args", cfg.args)) return false;
  if (cfg.args.empty() || cfg.args[0].empty()) return c.fail("process.args", "must name a program");
  if (const json* e = member(p, "env")) {
    if (!c.strings(*e, "process.env", cfg.env)) return false;
    for (size_t i = 0; i < cfg.env.size(); i++)
      if (cfg.env[i].find('=') == std::string::npos || cfg.env[i][0] == '=')
        return c.fail(idx("process.env", i), "\"" + cfg.env[i] + "\" is not KEY=VALUE");
  }
  const json* cwd = member(p, "cwd");
  if (!cwd) return c.fail("process.cwd", "is required");
  if (!c.str(*cwd, "process.cwd", cfg.cwd)) return false;
  if (cfg.cwd.empty() || cfg.cwd[0] != '/') return c.fail("process.cwd", "\"" + cfg.cwd + "\" must be an absolute path");
  if (const json* caps = member(p, "capabilities")) {
    if (!c.object(*caps, "process.capabilities")) return false;
    cfg.hasCapabilities = true;
    struct Set {
      const char* name;
      uint64_t* bits;
    } sets[] = {{"bounding", &cfg.caps.bounding},   {"effective", &cfg.caps.effective},
                {"inheritable", &cfg.caps.inheritable}, {"permitted", &cfg.caps.permitted},
                {"ambient", &cfg.caps.ambient}};
    for (const Set& s : sets)
      if (const json* v = member(*caps, s.name); v && !parseCapSet(c, *v, std::string("process.capabilities.") + s.name, *s.bits))
        return false;
  }
  if (const json* rl = member(p, "rlimits")) {
    if (!rl->is_array()) return c.fail("process.rlimits", "must be an array");
    for (size_t i = 0; i < rl->size(); i++) {
      const json& r = (*rl)[i];
      std::string f = idx("process.rlimits", i);
      if (!c.object(r, f)) return false;
      std::string type;
      const json* t = member(r, "type");
      const json* hard = member(r, "hard");
      const json* soft = member(r, "soft");
      if (!t || !hard || !soft) return c.fail(f, "needs type, hard and soft");
      if (!c.str(*t, f + ".type", type)) return false;
      Rlimit lim{-1, 0, 0};
      for (const Rl& k : kRlimits)
        if (type == k.name) lim.resource = k.resource;
      if (lim.resource < 0) return c.fail(f + ".type", "unknown rlimit \"" + type + "\"");
      for (const Rlimit& seen : cfg.rlimits)
        if (seen.resource == lim.resource) return c.fail(f + ".type", "\"" + type + "\" is given twice");
      if (!c.u64(*hard, f + ".hard", lim.hard) || !c.u64(*soft, f + ".soft", lim.soft)) return false;
      // JSON written by JavaScript cannot say 2^64-1 exactly: 2^53-1 and above mean unlimited too.
      constexpr uint64_t kJsUnlimited = (1ULL << 53) - 1;
      if (lim.hard >= kJsUnlimited) lim.hard = RLIM_INFINITY;
      if (lim.soft >= kJsUnlimited) lim.soft = RLIM_INFINITY;
      if (lim.soft > lim.hard) return c.fail(f, "soft limit is above the hard limit");
      cfg.rlimits.push_back(lim);
    }
  }
  if (const json* n = member(p, "noNewPrivileges"); n && !c.boolean(*n, "process.noNewPrivileges", cfg.noNewPrivileges))
    return false;
  if (const json* o = member(p, "oomScoreAdj")) {
    int64_t v;
    if (!c.i64(*o, "process.oomScoreAdj", v)) return false;
    if (v < -1000 || v > 1000) return c.fail("process.oomScoreAdj", "must be from -1000 to 1000");
    cfg.hasOomScoreAdj = true;
    cfg.oomScoreAdj = static_cast<int>(v);
  }
  return true;
}

bool parseHooks(Checker& c, const json& h, OciConfig& cfg) {
  if (!c.object(h, "hooks")) return false;
  for (auto it = h.begin(); it != h.end(); ++it) {
    std::string f = "hooks." + it.key();
    if (!it.value().is_array()) return c.fail(f, "must be an array");
    std::vector<Hook>& list = cfg.hooks[it.key()];
    for (size_t i = 0; i < it.value().size(); i++) {
      const json& hj = it.value()[i];
      std::string hf = idx(f, i);
      if (!c.object(hj, hf)) return false;
      Hook hook;
      const json* path = member(hj, "path");
      if (!path) return c.fail(hf + ".path", "is required");
      if (!c.str(*path, hf + ".path", hook.path)) return false;
      if (hook.path.empty() || hook.path[0] != '/') return c.fail(hf + ".path", "must be an absolute path");
      if (const json* a = member(hj, "args"); a && !c.strings(*a, hf + ".args", hook.args)) return false;
      if (const json* e = member(hj, "env"); e && !c.strings(*e, hf + ".env", hook.env)) return false;
      if (const json* t = member(hj, "timeout")) {
        int64_t v;
        if (!c.i64(*t, hf + ".timeout", v)) return false;
        if (v <= 0) return c.fail(hf + ".timeout", "must be positive");
        hook.timeout = static_cast<int>(v);
      }
      list.push_back(std::move(hook));
    }
  }
  return true;
}

bool parseResources(Checker& c, const json& r, Resources& res) {
  if (!c.object(r, "linux.resources")) return false;
  if (const json* d = member(r, "devices")) {
    std::string problem;
    if (!ParseDeviceRules(*d, res.devices, problem)) return c.failWith(problem);
    res.hasDevices = true;
  }
  if (const json* m = member(r, "memory")) {
    if (!c.object(*m, "linux.resources.memory")) return false;
    if (const json* v = member(*m, "limit"); v && !c.i64(*v, "linux.resources.memory.limit", res.memoryLimit)) return false;
    if (const json* v = member(*m, "reservation"); v && !c.i64(*v, "linux.resources.memory.reservation", res.memoryReservation))
      return false;
    if (const json* v = member(*m, "swap"); v && !c.i64(*v, "linux.resources.memory.swap", res.memorySwap)) return false;
    if (const json* v = member(*m, "swappiness"); v && !c.i64(*v, "linux.resources.memory.swappiness", res.memorySwappiness))
      return false;
    if (const json* v = member(*m, "disableOOMKiller"); v && !c.boolean(*v, "linux.resources.memory.disableOOMKiller", res.disableOomKiller))
      return false;
  }
  if (const json* cpu = member(r, "cpu")) {
    if (!c.object(*cpu, "linux.resources.cpu")) return false;
    if (const json* v = member(*cpu, "shares"); v && !c.u64(*v, "linux.resources.cpu.shares", res.cpuShares)) return false;
    if (const json* v = member(*cpu, "quota"); v && !c.i64(*v, "linux.resources.cpu.quota", res.cpuQuota)) return false;
    if (const json* v = member(*cpu, "period"); v && !c.u64(*v, "linux.resources.cpu.period", res.cpuPeriod)) return false;
    if (const json* v = member(*cpu, "cpus"); v && !c.str(*v, "linux.resources.cpu.cpus", res.cpusetCpus)) return false;
    if (const json* v = member(*cpu, "mems"); v && !c.str(*v, "linux.resources.cpu.mems", res.cpusetMems)) return false;
  }
  if (const json* p = member(r, "pids")) {
    if (!c.object(*p, "linux.resources.pids")) return false;
    const json* l = member(*p, "limit");
    if (l && !c.i64(*l, "linux.resources.pids.limit", res.pidsLimit)) return false;
    if (res.pidsLimit < 0) res.pidsLimit = -1;
  }
  if (const json* b = member(r, "blockIO")) {
    if (!c.object(*b, "linux.resources.blockIO")) return false;
    if (const json* w = member(*b, "weight")) {
      uint32_t v;
      if (!c.u32(*w, "linux.resources.blockIO.weight", v)) return false;
      if (v != 0 && (v < 10 || v > 1000)) return c.fail("linux.resources.blockIO.weight", "must be from 10 to 1000");
      res.blkioWeight = static_cast<uint16_t>(v);
    }
  }
  if (const json* u = member(r, "unified"); u && !c.stringMap(*u, "linux.resources.unified", res.unified)) return false;
  return true;
}

bool parseLinux(Checker& c, const json& l, OciConfig& cfg) {
  if (!c.object(l, "linux")) return false;
  if (const json* ns = member(l, "namespaces")) {
    if (!ns->is_array()) return c.fail("linux.namespaces", "must be an array");
    for (size_t i = 0; i < ns->size(); i++) {
      const json& nj = (*ns)[i];
      std::string f = idx("linux.namespaces", i);
      if (!c.object(nj, f)) return false;
      Namespace n{0, "", ""};
      const json* t = member(nj, "type");
      if (!t) return c.fail(f + ".type", "is required");
      if (!c.str(*t, f + ".type", n.type)) return false;
      for (const Ns& k : kNamespaces)
        if (n.type == k.type) n.flag = k.flag;
      if (n.flag == 0) return c.fail(f + ".type", "unknown namespace type \"" + n.type + "\"");
      if (cfg.hasNamespace(n.flag)) return c.fail(f + ".type", "namespace \"" + n.type + "\" is given twice");
      if (const json* p = member(nj, "path")) {
        if (!c.str(*p, f + ".path", n.path)) return false;
        if (!n.path.empty() && n.path[0] != '/') return c.fail(f + ".path", "must be an absolute path");
      }
      cfg.namespaces.push_back(n);
    }
  }
  if (const json* m = member(l, "uidMappings"); m && !parseIdMappings(c, *m, "linux.uidMappings", cfg.uidMappings)) return false;
  if (const json* m = member(l, "gidMappings"); m && !parseIdMappings(c, *m, "linux.gidMappings", cfg.gidMappings)) return false;
  if (const json* s = member(l, "sysctl"); s && !c.stringMap(*s, "linux.sysctl", cfg.sysctl)) return false;
  for (const auto& [key, value] : cfg.sysctl)
    if (key.empty() || key.find("..") != std::string::npos || key.find('/') != std::string::npos)
      return c.fail("linux.sysctl", "invalid key \"" + key + "\"");
  if (const json* r = member(l, "resources"); r && !parseResources(c, *r, cfg.resources)) return false;
  if (const json* p = member(l, "cgroupsPath"); p && !c.str(*p, "linux.cgroupsPath", cfg.cgroupsPath)) return false;
  for (const std::string& part : Split(cfg.cgroupsPath, '/'))
    if (part == "..") return c.fail("linux.cgroupsPath", "must not contain \"..\"");
  if (const json* s = member(l, "seccomp")) {
    std::string problem;
    if (!ParseSeccomp(*s, cfg.seccomp, problem)) return c.failWith(problem);
    cfg.hasSeccomp = true;
  }
  if (const json* m = member(l, "maskedPaths"); m && !c.strings(*m, "linux.maskedPaths", cfg.maskedPaths)) return false;
  if (const json* r = member(l, "readonlyPaths"); r && !c.strings(*r, "linux.readonlyPaths", cfg.readonlyPaths)) return false;
  for (const std::string& p : cfg.maskedPaths)
    if (p.empty() || p[0] != '/') return c.fail("linux.maskedPaths", "\"" + p + "\" must be an absolute path");
  for (const std::string& p : cfg.readonlyPaths)
    if (p.empty() || p[0] != '/') return c.fail("linux.readonlyPaths", "\"" + p + "\" must be an absolute path");
  if (const json* rp = member(l, "rootfsPropagation")) {
    std::string v;
    if (!c.str(*rp, "linux.rootfsPropagation", v)) return false;
    bool found = false;
    for (const MountOpt& p : kPropagation)
      if (v == p.name) cfg.rootfsPropagation = p.flag, found = true;
    if (!found) return c.fail("linux.rootfsPropagation", "unknown propagation \"" + v + "\"");
  }
  if (const json* d = member(l, "devices")) {
    if (!d->is_array()) return c.fail("linux.devices", "must be an array");
    for (size_t i = 0; i < d->size(); i++) {
      const json& dj = (*d)[i];
      std::string f = idx("linux.devices", i);
      if (!c.object(dj, f)) return false;
      DeviceNode n{"", 'c', 0, 0, 0, false, false, 0, 0};
      std::string type;
      const json* path = member(dj, "path");
      const json* t = member(dj, "type");
      if (!path || !t) return c.fail(f, "needs path and type");
      if (!c.str(*path, f + ".path", n.path) || !c.str(*t, f + ".type", type)) return false;
      if (n.path.empty() || n.path[0] != '/') return c.fail(f + ".path", "must be an absolute path");
      if (type != "c" && type != "b" && type != "u" && type != "p") return c.fail(f + ".type", "must be c, b, u or p");
      n.type = type[0];
      if (n.type != 'p') {
        const json* ma = member(dj, "major");
        const json* mi = member(dj, "minor");
        if (!ma || !mi) return c.fail(f, "a " + type + " device needs major and minor");
        if (!c.i64(*ma, f + ".major", n.major) || !c.i64(*mi, f + ".minor", n.minor)) return false;
      }
      if (const json* fm = member(dj, "fileMode"); fm && !c.u32(*fm, f + ".fileMode", n.fileMode)) return false;
      if (const json* u = member(dj, "uid")) {
        if (!c.u32(*u, f + ".uid", n.uid)) return false;
        n.hasUid = true;
      }
      if (const json* g = member(dj, "gid")) {
        if (!c.u32(*g, f + ".gid", n.gid)) return false;
        n.hasGid = true;
      }
      cfg.devices.push_back(n);
    }
  }
  return true;
}

// Decimal digits only: the agent writes plain numbers, and "10m" here would be a second size syntax.
bool parseCount(Checker& c, const std::string& field, const std::string& text, uint64_t max, uint64_t& out) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
    return c.fail(field, "\"" + text + "\" must be a positive integer");
  out = strtoull(text.c_str(), nullptr, 10);
  if (out == 0 || out > max) return c.fail(field, "\"" + text + "\" must be from 1 to " + std::to_string(max));
  return true;
}

bool parseLogAnnotations(Checker& c, OciConfig& cfg) {
  const std::map<std::string, std::string>& a = cfg.annotations;
  auto get = [&](const char* key) -> const std::string* {
    auto it = a.find(key);
    return it == a.end() ? nullptr : &it->second;
  };
  LogConfig& log = cfg.log;
  if (const std::string* d = get("tsswarm.log.driver")) {
    if (*d == "none") log.mode = LogConfig::kDiscard;
    else if (*d != "json-file" && *d != "local")
      return c.fail("annotations.tsswarm.log.driver", "unknown log driver \"" + *d + "\" (none, json-file, local)");
  }
  const std::string* format = get("tsswarm.log.format");
  if (format != nullptr && *format != "cri")
    return c.fail("annotations.tsswarm.log.format", "unknown log format \"" + *format + "\" (cri)");
  // Nothing is written with none, so nothing is framed either.
  if (log.mode == LogConfig::kDiscard) return true;
  const std::string* size = get("tsswarm.log.max-size");
  const std::string* path = get("tsswarm.log.path");
  // No annotation that asks for a relay: the container keeps the runtime's stdout and stderr.
  if (size == nullptr && path == nullptr && format == nullptr) return true;
  if (path == nullptr || path->empty() || (*path)[0] != '/') {
    const char* with = size != nullptr ? "tsswarm.log.max-size" : format != nullptr ? "tsswarm.log.format" : "tsswarm.log.path";
    return c.fail("annotations.tsswarm.log.path", std::string("an absolute path is required with ") + with);
  }
  log.maxSize = UINT64_MAX;  // no max-size: this file, without limit, never rotated
  if (size != nullptr) {
    if (!parseCount(c, "annotations.tsswarm.log.max-size", *size, static_cast<uint64_t>(INT64_MAX), log.maxSize)) return false;
    if (const std::string* files = get("tsswarm.log.max-file")) {
      uint64_t n = 0;
      if (!parseCount(c, "annotations.tsswarm.log.max-file", *files, 1000000, n)) return false;
      log.maxFiles = static_cast<uint32_t>(n);
    }
  }
  log.path = *path;
  log.framed = format != nullptr;
  log.mode = LogConfig::kRotate;
  return true;
}

}  // namespace

bool ParseOciConfig(const std::string& text, const std::string& bundle, OciConfig& cfg, std::string& problem) {
  problem.clear();
  Checker c(problem);
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return c.fail("(file)", "invalid JSON");
  if (!c.object(j, "(top level)")) return false;
  cfg.bundle = bundle;
  const json* v = member(j, "ociVersion");
  if (!v) return c.fail("ociVersion", "is required");
  if (!c.str(*v, "ociVersion", cfg.ociVersion)) return false;
  const json* root = member(j, "root");
  if (!root) return c.fail("root", "is required");
  if (!c.object(*root, "root")) return false;
  const json* rp = member(*root, "path");
  if (!rp) return c.fail("root.path", "is required");
  if (!c.str(*rp, "root.path", cfg.rootPath)) return false;
  if (cfg.rootPath.empty()) return c.fail("root.path", "must not be empty");
  if (cfg.rootPath[0] != '/') cfg.rootPath = bundle + "/" + cfg.rootPath;
  if (const json* ro = member(*root, "readonly"); ro && !c.boolean(*ro, "root.readonly", cfg.rootReadonly)) return false;
  if (const json* p = member(j, "process"); p && !parseProcess(c, *p, cfg)) return false;
  if (const json* h = member(j, "hostname"); h && !c.str(*h, "hostname", cfg.hostname)) return false;
  if (cfg.hostname.size() > 64) return c.fail("hostname", "is longer than 64 bytes");
  if (const json* d = member(j, "domainname"); d && !c.str(*d, "domainname", cfg.domainname)) return false;
  if (const json* m = member(j, "mounts"); m && !parseMounts(c, *m, cfg)) return false;
  if (const json* h = member(j, "hooks"); h && !parseHooks(c, *h, cfg)) return false;
  if (const json* a = member(j, "annotations"); a && !c.stringMap(*a, "annotations", cfg.annotations)) return false;
  if (!parseLogAnnotations(c, cfg)) return false;
  if (const json* l = member(j, "linux"); l && !parseLinux(c, *l, cfg)) return false;
  // The default devices every container gets (container.cc) must also open, whatever the rules say
  // before them: the runtime-spec's "Default Devices", as runc appends them.
  if (cfg.resources.hasDevices) {
    const DeviceRule defaults[] = {{true, 'c', 1, 3, "rwm"}, {true, 'c', 1, 5, "rwm"}, {true, 'c', 1, 7, "rwm"},
                                   {true, 'c', 1, 8, "rwm"}, {true, 'c', 1, 9, "rwm"}, {true, 'c', 5, 0, "rwm"},
                                   {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"}};
    for (const DeviceRule& r : defaults) cfg.resources.devices.push_back(r);
  }
  if (!cfg.hostname.empty() && !cfg.hasNamespace(CLONE_NEWUTS))
    return c.fail("hostname", "needs a new uts namespace");
  if (cfg.hasNamespace(CLONE_NEWUSER) && cfg.findNamespace(CLONE_NEWUSER)->path.empty() &&
      (cfg.uidMappings.empty() || cfg.gidMappings.empty()))
    return c.fail("linux.uidMappings", "a new user namespace needs uidMappings and gidMappings");
  return c.ok();
}

bool LoadOciConfig(const std::string& bundle, OciConfig& cfg, std::string& problem) {
  std::string file = bundle + "/config.json";
  bool found = false;
  int err = 0;
  std::string text = ReadSmallFile(file.c_str(), found, err, 4 << 20);
  if (!found) {
    problem = file + ": " + strerror(err);
    return false;
  }
  return ParseOciConfig(text, bundle, cfg, problem);
}

bool ParseOciProcess(const std::string& text, OciConfig& cfg, std::string& problem) {
  problem.clear();
  Checker c(problem);
  json j = json::parse(text, nullptr, false);
  OciConfig parsed;
  bool ok = !j.is_discarded() ? parseProcess(c, j, parsed) : c.fail("(file)", "invalid JSON");
  // The Checker names config.json; this text is a file of its own.
  if (problem.rfind("config.json: ", 0) == 0) problem = problem.substr(13);
  if (!ok) return false;
  cfg.hasProcess = parsed.hasProcess;
  cfg.terminal = parsed.terminal;
  cfg.uid = parsed.uid;
  cfg.gid = parsed.gid;
  cfg.hasUmask = parsed.hasUmask;
  cfg.umask = parsed.umask;
  cfg.additionalGids = parsed.additionalGids;
  cfg.args = parsed.args;
  cfg.env = parsed.env;
  cfg.cwd = parsed.cwd;
  cfg.hasCapabilities = parsed.hasCapabilities;
  cfg.caps = parsed.caps;
  cfg.rlimits = parsed.rlimits;
  cfg.noNewPrivileges = parsed.noNewPrivileges;
  cfg.hasOomScoreAdj = parsed.hasOomScoreAdj;
  cfg.oomScoreAdj = parsed.oomScoreAdj;
  return true;
}

int CapabilityNumber(const std::string& name) {
  for (size_t i = 0; i < sizeof kCapNames / sizeof kCapNames[0]; i++)
    if (name == kCapNames[i]) return static_cast<int>(i);
  return -1;
}

}  // namespace tsswarm
