// What /proc says about a process, for the addon and the shim alike.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>

#include "fd.h"

namespace tsswarm {

// Field 22 of /proc/<pid>/stat (start time in clock ticks), 0 when unreadable: with the pid it
// names one process for good (pids are reused).
inline unsigned long long ProcessStartTime(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return 0;
  char buf[1024];
  ssize_t n = read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = 0;
  char* p = strrchr(buf, ')');  // comm may contain spaces and parentheses
  if (!p) return 0;
  p++;
  // p is at the space before field 3; 19 more spaces reach the one before field 22.
  for (int i = 0; i < 19 && p; i++) p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, nullptr, 10) : 0;
}

}  // namespace tsswarm
