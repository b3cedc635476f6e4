// Compiled seccomp filters kept on disk, so that a container start loads Docker's profile in
// microseconds instead of compiling it with libseccomp each time (milliseconds: every rule for
// every architecture of the profile). The filter is still libseccomp's: the cache only stores what
// seccomp_export_bpf produced, keyed by the profile's canonical text, the libseccomp version and the
// kernel release, and a file whose key differs is compiled again.
#pragma once

#include <string>

#include "seccomp.h"

namespace tsswarm {

// The program for cfg from the cache directory `dir` (made 0700 when missing; a file there that is
// not root's own and private is ignored), else compiled and stored. 0 or errno with a message.
int CachedSeccompProgram(const SeccompConfig& cfg, const std::string& dir, SeccompProgram& out, std::string& message);

}  // namespace tsswarm
