// A container's state.json in `<root>/<id>/`: the runtime-spec's state (ociVersion, id, status,
// pid, bundle, annotations) plus what the runtime needs to act on it later (which process is the
// shim, start times that pin the pids, the cgroup, the exit status). Written by rename, so a reader
// never sees half a file; read by every command and by the agent (agent/runtime/state.ts).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace tsswarm {

struct State {
  std::string id;
  std::string status;  // creating | created | running | stopped
  std::string bundle, rootfs, created;
  pid_t pid = 0, shimPid = 0;
  unsigned long long pidStartTime = 0, shimStartTime = 0;
  int exitCode = -1, signal = 0;
  int cgroupVersion = 0;
  std::vector<std::string> cgroupDirs, cgroupHierarchies;
  std::string devicesDir, freezerDir;
  std::map<std::string, std::string> annotations;
};

bool WriteState(const std::string& dir, const State& s);
bool ReadState(const std::string& dir, State& s, std::string& problem);

struct CgroupSet;
// The container's cgroup as its state records it (what delete, pause and exec act on).
CgroupSet CgroupSetOf(const State& s);

// True when pid is alive and is the process that started at startTime.
bool SameProcess(pid_t pid, unsigned long long startTime);

// What the container is now: a state that says created/running whose process is gone is stopped,
// and a running one whose cgroup is frozen is paused.
std::string LiveStatus(const State& s);

// The runtime-spec state document (what `state ID` prints).
std::string StateJson(const State& s, const std::string& liveStatus, bool pretty);

std::string NowRfc3339();

}  // namespace tsswarm
