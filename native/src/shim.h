// The shim: the process that stays with a container for its whole life as the parent of its PID 1.
// It makes the cgroup, clones PID 1 (container.cc does the inside), records state.json, waits for
// `start`, and records the exit status, so a container outlives whoever created it (the agent, a
// `tsswarm-runtime create`) and its exit code is known afterwards.
#pragma once

#include <string>

#include "oci-config.h"

namespace tsswarm {

struct ShimOptions {
  std::string id;
  std::string stateDir;    // <root>/<id>, claimed (made) by the caller; removed again on failure
  std::string cgroupRoot;  // /sys/fs/cgroup unless a test or benchmark says otherwise
  const OciConfig* cfg = nullptr;
  int reportFd = -1;       // receives one line: "ok\t<shimPid>\t<pid>" or "err\t<errno>\t<step>\t<message>"
  bool startNow = false;   // run: no waiting for `start`
  bool foreground = false; // run without --detach: this process waits, forwards signals, returns the exit code
  int consoleSocket = -1;
  std::string seccompCacheDir;  // compiled filters (seccomp-cache.h); empty: compile every time
};

// Runs the shim in this process. Returns the exit code for the process (foreground: the container's).
int RunShim(const ShimOptions& opts);

// The start request to a created container's shim (what `start` does). 0, or errno with a message.
int RequestStart(const std::string& stateDir, std::string& message);

}  // namespace tsswarm
