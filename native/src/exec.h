// `tsswarm-runtime exec`: a new process inside a running container, as `runc exec` does (the
// sequence is in exec.cc's header comment).
#pragma once

#include <string>

namespace tsswarm {

// `root` is the runtime's --root; argv[start..] are exec's own flags, the container id and the
// command. Returns the exit code for this process: the process's own status in the foreground
// (128+signal when it was killed), 0 after `-d`, 255 when the process could not be started (one
// line on stderr, "tsswarm-runtime: <step>: <ERRNO> (<message>)", as runc exits 255 for those).
int ExecMain(const std::string& root, int argc, char** argv, int start);

}  // namespace tsswarm
