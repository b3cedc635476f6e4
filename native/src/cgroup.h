// A container's cgroup from config.json's linux.cgroupsPath and linux.resources, on cgroup v1 (one
// directory per mounted hierarchy) and v2 (one directory in the unified tree). Plain file I/O
// under a root that tests point at a fake tree; the device rules are the one kernel piece a fake
// tree cannot take (v2: a BPF program, skipped when the root is not a cgroup2 mount).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "oci-config.h"

namespace tsswarm {

constexpr const char* kDefaultCgroupRoot = "/sys/fs/cgroup";

struct CgroupSet {
  int version = 0;                // 1 or 2
  std::vector<std::string> dirs;  // the container's directories (v2: one)
  std::vector<std::string> hierarchies;  // v1: the hierarchy (mount) name of each dir, "cpu,cpuacct"
  std::vector<std::string> mountOptions;  // v1: what mounts each hierarchy again: "cpu,cpuacct", "none,name=systemd"
  std::string devicesDir;         // v1: the devices hierarchy's directory, or empty
  std::string freezerDir;         // v1: the freezer's, or empty
};

// The directories for `cgroupsPath` (empty: "/<id>") under `root`, without touching anything.
bool PlanCgroup(const std::string& root, const std::string& cgroupsPath, const std::string& id, CgroupSet& out,
                std::string& problem);

// Creates the directories and applies the resources. On failure the directories it made are gone
// again; returns 0 or errno with `message` naming the file.
int CreateCgroup(const std::string& root, const CgroupSet& set, const Resources& res, std::string& message);

// Writes pid into every directory's cgroup.procs (the v1 path, and v2 without clone3).
int JoinCgroup(const CgroupSet& set, pid_t pid, std::string& message);

// Freezes or thaws every process of the container; returns once the kernel says it is done.
int FreezeCgroup(const CgroupSet& set, bool frozen, std::string& message);

// True when the cgroup is frozen (v1 freezer.state FROZEN, v2 cgroup.events frozen 1).
bool CgroupFrozen(const CgroupSet& set);

// Pids in the container's cgroup (the first directory's cgroup.procs).
std::vector<pid_t> CgroupPids(const CgroupSet& set);

// rmdir of every directory, waiting up to timeoutMs for exiting processes; processes still there
// after a quarter of it are killed. 0 or errno.
int RemoveCgroup(const CgroupSet& set, int timeoutMs, std::string& message);

}  // namespace tsswarm
