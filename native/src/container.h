// PID 1's side of a container start: everything between clone() and execve(), in one fixed order,
// read off config.json (see container.cc for the numbered steps). It talks to the shim over a
// SOCK_SEQPACKET socket with fixed-size records.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "oci-config.h"
#include "seccomp.h"

namespace tsswarm {

// Shim -> PID 1.
constexpr char kMsgGo = 'g';     // ids mapped and cgroup joined: build the rest of the container
constexpr char kMsgStart = 's';  // `start`: exec the process

// PID 1 -> shim: one record, `ready` once everything but the exec is done, or a failure.
struct InitRecord {
  int32_t kind;  // 0: ready, 1: failure
  int32_t err;
  char step[64];
  char message[448];
};

struct InitContext {
  const OciConfig* cfg;
  int syncFd;
  int consoleSocket;             // -1: none; else where the pty master goes (process.terminal)
  int reportFd;                  // the shim's report pipe: closed first thing, only the shim writes it
  std::vector<int> nsFds;        // opened by the shim, in the order of cfg->namespaces (-1: new)
  int cloneFlags;                // the namespaces clone() already made
  int cgroupVersion;             // 1 or 2: how /sys/fs/cgroup is mounted inside
  std::vector<std::string> cgroupHierarchies;  // v1: hierarchy names to mount
  std::vector<std::string> cgroupMountOptions; // v1: the options that mount each again
  std::vector<std::string> cgroupHostDirs;     // the container's cgroup dirs on the host (binds without a cgroup ns)
  const SeccompProgram* seccomp;               // compiled by the shim; null without linux.seccomp
};

// The cloned child's entry point. Never returns: execs the process or exits after a failure record.
int ContainerInit(void* context);

}  // namespace tsswarm
