// The OCI `linux.seccomp` object (runtime-spec v1.1, config-linux.md#seccomp): parsed and checked in
// one place, then compiled with libseccomp and loaded into the container process as its last
// confinement step before execve.
//
// Parsing and loading are split so that a bad profile is refused with the field named when the
// config is read, not discovered in PID 1 after the mounts; LoadSeccomp only reports what the
// kernel or libseccomp refuses. See seccomp.cc for which of runc's behaviours are followed.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tsswarm {

struct SeccompArg {
  unsigned index = 0;     // 0..5
  uint64_t value = 0;     // for SCMP_CMP_MASKED_EQ: the mask
  uint64_t valueTwo = 0;  // for SCMP_CMP_MASKED_EQ: the value compared after masking; 0 when absent
  std::string op;         // "SCMP_CMP_EQ", ...
};

struct SeccompRule {
  std::vector<std::string> names;
  std::string action;  // "SCMP_ACT_ERRNO", ...
  int errnoRet = -1;   // -1: unset (EPERM for ERRNO and TRACE)
  std::vector<SeccompArg> args;
};

struct SeccompConfig {
  std::string defaultAction;
  int defaultErrnoRet = -1;  // -1: unset
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86", ...; the native one is always included
  std::vector<std::string> flags;          // "SECCOMP_FILTER_FLAG_LOG", ...
  std::vector<SeccompRule> syscalls;
  std::string listenerPath;
  // The object as config.json gave it, re-serialised canonically: what identifies a compiled filter.
  std::string canonical;
};

// A compiled filter: classic BPF as libseccomp generates it, and the seccomp(2) flags to load it with.
struct SeccompProgram {
  std::vector<uint8_t> bpf;  // struct sock_filter[], 8 bytes each
  unsigned flags = 0;        // SECCOMP_FILTER_FLAG_*
};

// Parses the OCI `linux.seccomp` object. false + a one-line problem on invalid input (unknown
// action/op/arch/flag, arg index > 5, wrong types), naming the field, e.g.
// `linux.seccomp.syscalls[2].action: unknown action "X"`. Never throws.
bool ParseSeccomp(const nlohmann::json& j, SeccompConfig& out, std::string& problem);

// Builds the libseccomp filter and loads it into the calling thread (all threads with
// SECCOMP_FILTER_FLAG_TSYNC). Returns 0 on success, else an errno with `message` saying what failed.
// Does not set no_new_privs: with it set any process can load the filter, without it the caller
// needs CAP_SYS_ADMIN (EACCES otherwise).
int LoadSeccomp(const SeccompConfig& cfg, std::string& message);

// The two halves of LoadSeccomp. Compiling (libseccomp: every rule for every architecture, then the
// BPF) costs milliseconds for Docker's profile; loading the result costs microseconds, so the shim
// compiles before clone() and keeps compiled filters in a cache (seccomp-cache.cc).
int CompileSeccomp(const SeccompConfig& cfg, SeccompProgram& out, std::string& message);
int LoadSeccompProgram(const SeccompProgram& program, std::string& message);

}  // namespace tsswarm
