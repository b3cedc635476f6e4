// OCI lifecycle hooks (config.json `hooks`): programs of the runtime's namespace that get the
// container's state on stdin. The shim runs createRuntime and createContainer once the container is
// created and prestart when it is started (a failure stops it), poststart once it runs (a failure is
// only a warning); `delete` runs poststop. startContainer hooks are not run: they would
// have to run inside the container between its set-up and its process.
#pragma once

#include <string>

#include "oci-config.h"

namespace tsswarm {

// Runs the hooks of `kind` in order, each with `stateJson` on its stdin and its own timeout. 0, or
// an errno with `message` naming the first hook that failed.
// With keepGoing (poststart, poststop: failures are warnings) every hook runs whatever the others did.
int RunHooks(const OciConfig& cfg, const std::string& kind, const std::string& stateJson, std::string& message,
             bool keepGoing = false);

}  // namespace tsswarm
