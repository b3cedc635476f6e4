// Paths inside a container's root filesystem, resolved inside it: openat2(RESOLVE_IN_ROOT) treats
// the rootfs as "/" for every component, so a symlink in an image or a volume ("/etc -> /host/etc",
// "../../..") can never make a mount or a write land on the host. Mount targets are created the
// same way, one component at a time, and mounted on through their /proc/self/fd path.
#pragma once

#include <string>

namespace tsswarm {

// An fd (O_PATH unless flags say otherwise) for `path`, absolute or relative, resolved inside the
// directory rootFd as if it were "/". -1 with errno on failure.
int OpenInRoot(int rootFd, const std::string& path, int flags);

// Makes sure `path` exists inside the root: missing directories are created (mode 0755), and the
// last component as an empty file when lastIsFile. 0 or errno, with `message` naming the path.
int MkdirAllInRoot(int rootFd, const std::string& path, bool lastIsFile, std::string& message);

// "/proc/self/fd/N": what mount(2) and friends take for an fd opened above.
std::string FdPath(int fd);

}  // namespace tsswarm
