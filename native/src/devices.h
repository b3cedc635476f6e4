// The device allowlist of a container's cgroup, from the OCI runtime spec's linux.resources.devices.
//
// Rules apply in order and a later rule overrides an earlier one for the devices and the access
// modes it names; before the first rule nothing is allowed. A rule of type 'a' stands for every
// device and every access mode whatever its major, minor and access say, as it does for the cgroup
// v1 kernel interface and for runc, so that the two cgroup versions agree.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace tsswarm {

struct DeviceRule {
  bool allow;
  char type;           // 'a', 'b' or 'c'
  int64_t major;       // -1: any, else at most 4095 (a dev_t's 12 bits)
  int64_t minor;       // -1: any, else at most 1048575 (20 bits)
  std::string access;  // a subset of "rwm"; empty means "rwm"
};

// linux.resources.devices (a JSON array) into rules: true, or false with a one-line problem naming
// the field (`linux.resources.devices[2].type: must be "a", "b" or "c"`). out is untouched on failure.
bool ParseDeviceRules(const nlohmann::json& arr, std::vector<DeviceRule>& out, std::string& problem);

// cgroup v1: writes "a" to devices.deny, then each rule in order to devices.allow / devices.deny as
// "c 1:3 rwm" lines ('*' for any). The kernel only takes an exception out of the list when it names
// exactly the same devices, so a rule that takes access away from a narrower earlier rule is also
// written for that rule's devices, and one that would take access away from part of a wider earlier
// rule (which v1 cannot express) fails with EINVAL before anything of it is written.
// 0, or errno with message.
int ApplyDevicesV1(const std::string& cgroupDir, const std::vector<DeviceRule>& rules, std::string& message);

// cgroup v2: builds a BPF_PROG_TYPE_CGROUP_DEVICE program for the rules, loads it (license "Apache";
// on failure message carries the verifier's log) and attaches it to the open cgroup directory
// (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI). The cgroup holds the only reference: the program goes away
// with the cgroup. Applying again to the same cgroup adds a second program, and both must allow.
// 0, or errno with message.
int ApplyDevicesV2(int cgroupDirFd, const std::vector<DeviceRule>& rules, std::string& message);

// The instruction count of the v2 program for the rules, 0 when a rule is invalid; for tests.
size_t DeviceProgramSize(const std::vector<DeviceRule>& rules);

}  // namespace tsswarm
