// See safe-path.h.

#include "safe-path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "fd.h"
#include "text.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

namespace tsswarm {

int OpenInRoot(int rootFd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  // Magic links (/proc/self/root, /proc/<pid>/fd/N) jump out of any root: never follow them.
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = path;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  for (;;) {
    long fd = syscall(SYS_openat2, rootFd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    // openat2 fails with EAGAIN when a rename raced with the lookup; retrying is what the man page asks.
    if (errno != EAGAIN && errno != EINTR) return -1;
  }
}

int MkdirAllInRoot(int rootFd, const std::string& path, bool lastIsFile, std::string& message) {
  std::vector<std::string> parts;
  for (const std::string& p : Split(path, '/'))
    if (!p.empty() && p != ".") parts.push_back(p);
  std::string prefix;
  for (size_t i = 0; i < parts.size(); i++) {
    bool last = i + 1 == parts.size();
    std::string next = prefix + "/" + parts[i];
    Fd existing(OpenInRoot(rootFd, next, O_PATH));
    if (existing.valid()) {
      prefix = next;
      continue;
    }
    if (errno != ENOENT) {
      message = next + ": " + ErrnoText(errno);
      return errno;
    }
    // The parent resolved inside the root; the new entry is made relative to it, never followed.
    Fd parent(OpenInRoot(rootFd, prefix.empty() ? "/" : prefix, O_PATH | O_DIRECTORY));
    if (!parent.valid()) {
      message = (prefix.empty() ? "/" : prefix) + ": " + ErrnoText(errno);
      return errno;
    }
    if (parts[i] == "..") {
      message = next + ": no such directory";
      return ENOENT;
    }
    int rc;
    if (last && lastIsFile) {
      Fd f(openat(parent.get(), parts[i].c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
      rc = f.valid() ? 0 : -1;
    } else {
      rc = mkdirat(parent.get(), parts[i].c_str(), 0755);
    }
    if (rc < 0 && errno == EEXIST) {
      // The name exists but does not resolve: a symlink to a missing path. Creating its target
      // would mean following it by hand; refuse instead.
      message = next + ": a symlink to a path that does not exist";
      return ENOENT;
    }
    if (rc < 0) {
      message = "create " + next + ": " + ErrnoText(errno);
      return errno;
    }
    prefix = next;
  }
  return 0;
}

std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace tsswarm
