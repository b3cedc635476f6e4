// The OCI runtime spec (config.json, runtime-spec 1.0.2 / 1.1) as the runtime uses it: parsed once,
// checked once, then read by every step of native/src/container.cc and native/src/cgroup.cc.
//
// What the spec leaves to the runtime is decided here in one place: an absent field keeps the
// runtime-spec default (no namespace means the runtime's own, no rlimit means inherited, ...).
// Unknown properties are ignored, as the spec asks; a known property with a wrong type or value is an
// error naming it ("linux.namespaces[2].type: unknown namespace type \"foo\"").
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "devices.h"
#include "seccomp.h"

namespace tsswarm {

struct IdMapping {
  uint32_t containerId, hostId, size;
};

struct Rlimit {
  int resource;  // RLIMIT_*
  uint64_t hard, soft;
};

struct Mount {
  std::string destination, type, source;
  std::vector<std::string> options;
  // Derived from options: mount(2) flags, propagation flags applied after, and the fs data string.
  unsigned long flags = 0;
  unsigned long propagation = 0;  // MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE, | MS_REC
  std::string data;
  bool bind = false;
};

struct Namespace {
  int flag;          // CLONE_NEW*
  std::string type;  // as written: "pid", "network", ...
  std::string path;  // empty: a new namespace
};

struct Capabilities {
  // Bit sets (bit n = capability n).
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

struct DeviceNode {
  std::string path;
  char type;  // 'c', 'b', 'u', 'p'
  int64_t major, minor;
  uint32_t fileMode;  // 0: 0666
  bool hasUid, hasGid;
  uint32_t uid, gid;
};

struct Resources {
  int64_t memoryLimit = -1, memoryReservation = -1, memorySwap = -1;
  int64_t memorySwappiness = -1;
  bool disableOomKiller = false;
  uint64_t cpuShares = 0;
  int64_t cpuQuota = 0;  // 0: unset
  uint64_t cpuPeriod = 0;
  std::string cpusetCpus, cpusetMems;
  int64_t pidsLimit = 0;  // 0: unset, -1: max
  uint16_t blkioWeight = 0;
  bool hasDevices = false;
  std::vector<DeviceRule> devices;
  std::map<std::string, std::string> unified;
};

struct Hook {
  std::string path;
  std::vector<std::string> args, env;
  int timeout = 0;  // seconds, 0: none
};

// Where the container's stdout and stderr go, from annotations the agent writes (agent/runtime/oci/
// spec.ts; log-relay.h does the work). Runtime-spec annotations, so any other runtime ignores them:
//   tsswarm.log.driver    "none": to /dev/null; "json-file", "local" or absent: to a file
//   tsswarm.log.path      that file, absolute; required with max-size and with format. Without
//                         max-size the shim relays into it without limit, never rotating it
//   tsswarm.log.max-size  bytes (decimal digits) one file may hold; the file rotates before it would pass it
//   tsswarm.log.max-file  files kept in all, the current one included (default 1: it is truncated);
//                         ignored without max-size
//   tsswarm.log.format    "cri": one framed record per line, stdout and stderr apart, timestamped
//                         (log-relay.h); absent: the bytes as they came. Moot with driver none
// Without them the container keeps the stdout and stderr the runtime was started with (runc's way,
// and the agent's plain log file).
struct LogConfig {
  // kRotate: the shim relays into path; maxSize UINT64_MAX (no max-size) is a file that never rotates.
  enum Mode { kInherit, kDiscard, kRotate };
  Mode mode = kInherit;
  std::string path;
  uint64_t maxSize = 0;
  uint32_t maxFiles = 1;
  bool framed = false;  // tsswarm.log.format "cri" (never with kInherit)
};

struct OciConfig {
  std::string ociVersion;
  std::string bundle;  // absolute bundle directory (not in config.json; set by the caller)

  // process
  bool hasProcess = false;
  bool terminal = false;
  uint32_t uid = 0, gid = 0;
  bool hasUmask = false;
  uint32_t umask = 022;
  std::vector<gid_t> additionalGids;
  std::vector<std::string> args, env;
  std::string cwd = "/";
  bool hasCapabilities = false;
  Capabilities caps;
  std::vector<Rlimit> rlimits;
  bool noNewPrivileges = false;
  bool hasOomScoreAdj = false;
  int oomScoreAdj = 0;

  // root
  std::string rootPath;  // absolute (resolved against the bundle)
  bool rootReadonly = false;

  std::string hostname, domainname;
  std::vector<Mount> mounts;
  std::map<std::string, std::vector<Hook>> hooks;  // "prestart", "createRuntime", ...
  std::map<std::string, std::string> annotations;
  LogConfig log;  // from annotations

  // linux
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uidMappings, gidMappings;
  std::map<std::string, std::string> sysctl;
  Resources resources;
  std::string cgroupsPath;
  bool hasSeccomp = false;
  SeccompConfig seccomp;
  std::vector<std::string> maskedPaths, readonlyPaths;
  unsigned long rootfsPropagation = 0;  // 0: runtime default (rprivate)
  std::vector<DeviceNode> devices;

  bool hasNamespace(int flag) const;
  const Namespace* findNamespace(int flag) const;
};

// Reads <bundle>/config.json. false + a one-line problem ("config.json: linux.namespaces[0].type:
// unknown namespace type \"foo\"") when it cannot be run.
bool LoadOciConfig(const std::string& bundle, OciConfig& out, std::string& problem);

// The same from text (for tests and the shim, which gets the config already checked).
bool ParseOciConfig(const std::string& text, const std::string& bundle, OciConfig& out, std::string& problem);

// exec's --process FILE: a runtime-spec `process` object, checked as config.json's process is, into
// the process fields of cfg (hasProcess through oomScoreAdj; everything else is left as it is). On
// failure cfg is unchanged and problem names the field ("process.args: is required").
bool ParseOciProcess(const std::string& text, OciConfig& cfg, std::string& problem);

// exec's --cap: the number of a capability named as in config.json ("CAP_NET_ADMIN"), -1 if unknown.
int CapabilityNumber(const std::string& name);

}  // namespace tsswarm
