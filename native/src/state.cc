// See state.h.

#include "state.h"

#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cgroup.h"
#include "fd.h"
#include "proc.h"
#include "text.h"

namespace tsswarm {

using json = nlohmann::json;

namespace {

json ToJson(const State& s) {
  json j = {{"ociVersion", "1.0.2"},
            {"id", s.id},
            {"status", s.status},
            {"pid", s.pid},
            {"bundle", s.bundle},
            {"rootfs", s.rootfs},
            {"created", s.created},
            {"shimPid", s.shimPid},
            {"shimStartTime", s.shimStartTime},
            {"pidStartTime", s.pidStartTime},
            {"cgroup", {{"version", s.cgroupVersion}, {"dirs", s.cgroupDirs}, {"hierarchies", s.cgroupHierarchies},
                        {"devices", s.devicesDir}, {"freezer", s.freezerDir}}},
            {"annotations", s.annotations}};
  if (s.exitCode >= 0) {
    j["exitCode"] = s.exitCode;
    j["signal"] = s.signal;
  }
  return j;
}

template <typename T>
void Get(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if constexpr (std::is_same_v<T, std::string>) {
    if (it->is_string()) out = it->get<std::string>();
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (it->is_array())
      for (const json& e : *it)
        if (e.is_string()) out.push_back(e.get<std::string>());
  } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
    if (it->is_object())
      for (auto e = it->begin(); e != it->end(); ++e)
        if (e.value().is_string()) out[e.key()] = e.value().get<std::string>();
  } else {
    if (it->is_number_integer()) out = static_cast<T>(it->template get<long long>());
  }
}

}  // namespace

bool WriteState(const std::string& dir, const State& s) {
  std::string tmp = dir + "/state.json.tmp", dst = dir + "/state.json";
  // No fsync: after a power loss the container is gone anyway, and fsync costs milliseconds per start.
  Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return false;
  bool ok = WriteAll(fd.get(), ToJson(s).dump() + "\n");
  fd.reset();
  return ok && rename(tmp.c_str(), dst.c_str()) == 0;
}

bool ReadState(const std::string& dir, State& s, std::string& problem) {
  std::string file = dir + "/state.json";
  bool found = false;
  int err = 0;
  std::string text = ReadSmallFile(file.c_str(), found, err);
  if (!found) {
    problem = file + ": " + ErrnoText(err);
    return false;
  }
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    problem = file + ": not a state file";
    return false;
  }
  s = State{};
  Get(j, "id", s.id);
  Get(j, "status", s.status);
  Get(j, "pid", s.pid);
  Get(j, "bundle", s.bundle);
  Get(j, "rootfs", s.rootfs);
  Get(j, "created", s.created);
  Get(j, "shimPid", s.shimPid);
  Get(j, "shimStartTime", s.shimStartTime);
  Get(j, "pidStartTime", s.pidStartTime);
  Get(j, "exitCode", s.exitCode);
  Get(j, "signal", s.signal);
  Get(j, "annotations", s.annotations);
  if (auto cg = j.find("cgroup"); cg != j.end() && cg->is_object()) {
    Get(*cg, "version", s.cgroupVersion);
    Get(*cg, "dirs", s.cgroupDirs);
    Get(*cg, "hierarchies", s.cgroupHierarchies);
    Get(*cg, "devices", s.devicesDir);
    Get(*cg, "freezer", s.freezerDir);
  }
  return true;
}

CgroupSet CgroupSetOf(const State& s) {
  CgroupSet set;
  set.version = s.cgroupVersion;
  set.dirs = s.cgroupDirs;
  set.hierarchies = s.cgroupHierarchies;
  set.devicesDir = s.devicesDir;
  set.freezerDir = s.freezerDir;
  return set;
}

bool SameProcess(pid_t pid, unsigned long long startTime) {
  return pid > 0 && startTime != 0 && ProcessStartTime(pid) == startTime;
}

std::string LiveStatus(const State& s) {
  if (s.status == "stopped" || s.status == "creating") {
    // A "creating" state whose shim died never became a container.
    return s.status == "creating" && SameProcess(s.shimPid, s.shimStartTime) ? "creating" : "stopped";
  }
  if (!SameProcess(s.pid, s.pidStartTime)) return "stopped";
  if (s.status == "running") {
    if (CgroupFrozen(CgroupSetOf(s))) return "paused";
  }
  return s.status;
}

std::string StateJson(const State& s, const std::string& liveStatus, bool pretty) {
  json j = {{"ociVersion", "1.0.2"}, {"id", s.id}, {"status", liveStatus}, {"bundle", s.bundle}};
  j["pid"] = liveStatus == "stopped" ? 0 : s.pid;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = "";
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j.dump(pretty ? 2 : -1);
}

std::string NowRfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
           t.tm_min, t.tm_sec, ts.tv_nsec);
  return buf;
}

}  // namespace tsswarm
