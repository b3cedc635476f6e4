// What becomes the container's process last, for PID 1 (container.cc) and for an exec'd process
// (exec.cc) alike: the bounding set, the uid/gid switch that keeps capabilities, the five
// capability sets, and the executable's lookup along the process's PATH. Each returns a StepError
// instead of failing itself: the callers report over their own sync sockets.
#pragma once

#include <string>
#include <vector>

#include "oci-config.h"

namespace tsswarm {

struct StepError {
  int err = 0;
  std::string step, message;
  explicit operator bool() const { return err != 0; }
};

// Drops every capability not in the bounding set; before the uid changes (it needs CAP_SETPCAP).
StepError DropBounding(const Capabilities& c);

// setgroups (unless a user namespace denies it), setresgid, setresuid, keeping the permitted set.
StepError SwitchUser(const OciConfig& cfg, bool setgroupsAllowed);

// The effective, permitted and inheritable sets exactly, then the ambient ones the kernel allows.
StepError SetCapabilities(const Capabilities& c);

// rlimits and oom_score_adj, while the capabilities to raise them are still there.
StepError ApplyLimits(const OciConfig& cfg);

// The process's identity, in its order: bounding set (with capabilities configured), uid/gid and
// groups (unless the user namespace denies setgroups), then the capability sets.
StepError TakeIdentity(const OciConfig& cfg, bool inNewUserns);

// `arg0` if it has a '/', else the first executable `dir/arg0` along PATH of `env` (the default
// path when it has none).
StepError ResolveExecutable(const std::string& arg0, const std::vector<std::string>& env, std::string& out);

}  // namespace tsswarm
