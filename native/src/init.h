// The minimal init of `init: true` containers (bound at /sbin/docker-init, Docker's path): PID 1 that
// runs the service's process as its child, passes signals on to it and reaps every zombie, and exits
// with the child's status. The runtime binary is static, so it runs in any image.
#pragma once

namespace tsswarm {

// argv: [docker-init, "--", command...] or [docker-init, command...].
int InitMain(int argc, char** argv);

}  // namespace tsswarm
