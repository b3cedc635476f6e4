// Seccomp for the container process (see seccomp.h): the OCI `linux.seccomp` object compiled with
// libseccomp, not hand-written BPF, so that syscall numbers, architectures and argument
// comparisons are libseccomp's problem.
//
// LoadSeccomp follows runc (libcontainer/seccomp/seccomp_linux.go) where the spec leaves room:
//   - SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD; ERRNO and TRACE take errnoRet, EPERM when unset.
//   - A rule whose action equals the default action is skipped: libseccomp refuses it (EACCES)
//     and it changes nothing.
//   - A syscall name libseccomp cannot resolve is skipped, not an error: profiles name syscalls
//     newer than the library on purpose. (Names of another architecture of the filter, such as
//     chown32 on x86_64, do resolve and apply to that architecture.)
//   - Comparisons on distinct arguments are ANDed in one rule. When an argument index repeats,
//     libseccomp refuses the rule (EINVAL), so every comparison of that entry becomes a rule of its
//     own and the entry matches when ANY of them holds, including the distinct-index ones.
//   - libseccomp's own PR_SET_NO_NEW_PRIVS on load is turned off: no_new_privs is the spec's
//     process.noNewPrivileges, set (or not) by the caller. Without it loading needs CAP_SYS_ADMIN.
//   - Profiles with more than 32 rules get libseccomp's binary-tree optimisation, as in runc.
// Parsing is stricter than runc where the spec says MUST: errnoRet on an action that takes no errno
// is an error (runc ignores it; crun refuses it).
//
// Not done (yet):
//   - runc's patchbpf -ENOSYS stub, which makes syscalls newer than the profile fail with ENOSYS
//     instead of the default errno so that libc falls back (clone3 -> clone). Profiles that need
//     it say so themselves: Docker's has {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}.
//   - SCMP_ACT_NOTIFY and listenerPath: the listener fd must reach the agent at listenerPath from
//     outside the container, which needs the sync-socket plumbing; LoadSeccomp returns EOPNOTSUPP.
//     SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only applies to a listener, so it is refused the same way.
//   - runc's default of SECCOMP_FILTER_FLAG_SPEC_ALLOW when `flags` is absent: absent and empty
//     both mean no flags here (the kernel's default speculation mitigation applies).

#include "seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>

// libseccomp's header. This directory has a seccomp.h of its own, so it must reach the compiler as
// the including file's directory or -iquote, never -I (which <seccomp.h> would find first).
#include <seccomp.h>
#ifndef SCMP_VER_MAJOR
#error "<seccomp.h> found tsswarm's native/src/seccomp.h: add native/src with -iquote, not -I"
#endif

#include <nlohmann/json.hpp>

#include "fd.h"
#include "json-fields.h"

namespace tsswarm {

using json = nlohmann::json;

namespace {

const char* const kActions[] = {"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
                                "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};

struct Operator {
  const char* name;
  scmp_compare op;
};
const Operator kOperators[] = {{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
                               {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
                               {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
                               {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};

// runtime-spec's list (v1.1 plus the libseccomp 2.6 additions of later versions); whether this
// libseccomp knows one is LoadSeccomp's question.
const char* const kArchitectures[] = {
    "SCMP_ARCH_X86",       "SCMP_ARCH_X86_64",  "SCMP_ARCH_X32",        "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",   "SCMP_ARCH_MIPS",    "SCMP_ARCH_MIPS64",     "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",       "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",      "SCMP_ARCH_SH",      "SCMP_ARCH_SHEB"};

const char* const kFlags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                              "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

constexpr unsigned kMaxArgs = 6;
// ERRNO and TRACE carry 16 bits of data in the filter's return value.
constexpr uint64_t kMaxErrno = 0xffff;
// runc's threshold: below it the binary tree does not pay, and libseccomp <= 2.5.4 misbehaves with
// it on an empty filter.
constexpr size_t kOptimizeAbove = 32;

template <size_t N>
bool known(const char* const (&names)[N], const std::string& s) {
  for (const char* n : names)
    if (s == n) return true;
  return false;
}

bool takesErrno(const std::string& action) { return action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE"; }

// The checks of json-fields.h, and those of a seccomp object; problems are "field: why".
class Fields : public JsonFields {
 public:
  explicit Fields(std::string& problem) : JsonFields(problem, "") {}

  bool uint(const json& j, const std::string& field, uint64_t max, uint64_t& out) {
    bool integer = j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0);
    if (!integer || j.get<uint64_t>() > max)
      return fail(field, "must be an integer from 0 to " + std::to_string(max));
    out = j.get<uint64_t>();
    return true;
  }
  bool action(const json& j, const std::string& field, std::string& out) {
    if (!str(j, field, out)) return false;
    if (!known(kActions, out)) return fail(field, "unknown action \"" + out + "\"");
    return true;
  }
  bool errnoRet(const json& j, const std::string& field, const std::string& action, int& out) {
    uint64_t v;
    if (!uint(j, field, kMaxErrno, v)) return false;
    if (!takesErrno(action)) return fail(field, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not " + action);
    out = static_cast<int>(v);
    return true;
  }
};

bool parseArg(Fields& f, const json& j, const std::string& field, SeccompArg& out) {
  if (!j.is_object()) return f.fail(field, "must be an object");
  const json* index = Fields::member(j, "index");
  if (!index) return f.fail(field + ".index", "required");
  if (index->is_number_unsigned() && index->get<uint64_t>() >= kMaxArgs)
    return f.fail(field + ".index", std::to_string(index->get<uint64_t>()) + " is out of range (syscall arguments are 0 to 5)");
  uint64_t v;
  if (!f.uint(*index, field + ".index", kMaxArgs - 1, v)) return false;
  out.index = static_cast<unsigned>(v);
  const json* value = Fields::member(j, "value");
  if (!value) return f.fail(field + ".value", "required");
  if (!f.uint(*value, field + ".value", UINT64_MAX, out.value)) return false;
  out.valueTwo = 0;
  if (const json* two = Fields::member(j, "valueTwo"); two && !f.uint(*two, field + ".valueTwo", UINT64_MAX, out.valueTwo))
    return false;
  const json* op = Fields::member(j, "op");
  if (!op) return f.fail(field + ".op", "required");
  if (!f.str(*op, field + ".op", out.op)) return false;
  for (const Operator& o : kOperators)
    if (out.op == o.name) return true;
  return f.fail(field + ".op", "unknown operator \"" + out.op + "\"");
}

bool parseRule(Fields& f, const json& j, const std::string& field, SeccompRule& out) {
  if (!j.is_object()) return f.fail(field, "must be an object");
  const json* names = Fields::member(j, "names");
  if (!names) return f.fail(field + ".names", "required");
  if (!f.strings(*names, field + ".names", out.names)) return false;
  if (out.names.empty()) return f.fail(field + ".names", "must contain at least one name");
  for (size_t i = 0; i < out.names.size(); i++)
    if (out.names[i].empty()) return f.fail(field + ".names[" + std::to_string(i) + "]", "must not be empty");
  const json* action = Fields::member(j, "action");
  if (!action) return f.fail(field + ".action", "required");
  if (!f.action(*action, field + ".action", out.action)) return false;
  out.errnoRet = -1;
  if (const json* e = Fields::member(j, "errnoRet"); e && !f.errnoRet(*e, field + ".errnoRet", out.action, out.errnoRet))
    return false;
  out.args.clear();
  if (const json* args = Fields::member(j, "args")) {
    if (!args->is_array()) return f.fail(field + ".args", "must be an array");
    for (size_t i = 0; i < args->size(); i++) {
      SeccompArg a;
      if (!parseArg(f, (*args)[i], field + ".args[" + std::to_string(i) + "]", a)) return false;
      out.args.push_back(std::move(a));
    }
  }
  return true;
}

// The filter's return value for an action; false when the name is unknown.
bool actionValue(const std::string& name, int errnoRet, uint32_t& out) {
  uint32_t data = static_cast<uint32_t>(errnoRet < 0 ? EPERM : errnoRet);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") out = SCMP_ACT_KILL_THREAD;
  else if (name == "SCMP_ACT_KILL_PROCESS") out = SCMP_ACT_KILL_PROCESS;
  else if (name == "SCMP_ACT_TRAP") out = SCMP_ACT_TRAP;
  else if (name == "SCMP_ACT_ERRNO") out = SCMP_ACT_ERRNO(data);
  else if (name == "SCMP_ACT_TRACE") out = SCMP_ACT_TRACE(data);
  else if (name == "SCMP_ACT_ALLOW") out = SCMP_ACT_ALLOW;
  else if (name == "SCMP_ACT_LOG") out = SCMP_ACT_LOG;
  else if (name == "SCMP_ACT_NOTIFY") out = SCMP_ACT_NOTIFY;
  else return false;
  return true;
}

// libseccomp's name for SCMP_ARCH_X86_64 is "x86_64": the suffix, lower-cased.
uint32_t archToken(const std::string& name) {
  const std::string prefix = "SCMP_ARCH_";
  if (name.compare(0, prefix.size(), prefix) != 0) return 0;
  std::string lower = name.substr(prefix.size());
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return seccomp_arch_resolve_name(lower.c_str());
}

class Filter {
 public:
  explicit Filter(scmp_filter_ctx ctx) : ctx_(ctx) {}
  ~Filter() {
    if (ctx_) seccomp_release(ctx_);
  }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;
  scmp_filter_ctx get() const { return ctx_; }
  bool valid() const { return ctx_ != nullptr; }

 private:
  scmp_filter_ctx ctx_;
};

// libseccomp returns -errno.
int failed(int rc, std::string& message, const std::string& what, const char* hint = nullptr) {
  message = what + ": " + strerror(-rc);
  if (hint) message += std::string(" (") + hint + ")";
  return -rc;
}

int setFlag(const Filter& filter, const std::string& flag, std::string& message) {
  scmp_filter_attr attr;
  if (flag == "SECCOMP_FILTER_FLAG_TSYNC") attr = SCMP_FLTATR_CTL_TSYNC;
  else if (flag == "SECCOMP_FILTER_FLAG_LOG") attr = SCMP_FLTATR_CTL_LOG;
  else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") attr = SCMP_FLTATR_CTL_SSB;
  else if (flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
    message = flag + ": only applies to an SCMP_ACT_NOTIFY listener, which is not supported";
    return EOPNOTSUPP;
  } else {
    message = "unknown flag \"" + flag + "\"";
    return EINVAL;
  }
  int rc = seccomp_attr_set(filter.get(), attr, 1);
  if (rc < 0) return failed(rc, message, flag, rc == -EOPNOTSUPP ? "not supported by this kernel" : nullptr);
  return 0;
}

}  // namespace

bool ParseSeccomp(const json& j, SeccompConfig& out, std::string& problem) {
  problem.clear();
  out = SeccompConfig{};
  Fields f(problem);
  const std::string base = "linux.seccomp";
  if (!j.is_object()) return f.fail(base, "must be an object");

  const json* def = Fields::member(j, "defaultAction");
  if (!def) return f.fail(base + ".defaultAction", "required");
  if (!f.action(*def, base + ".defaultAction", out.defaultAction)) return false;
  if (const json* e = Fields::member(j, "defaultErrnoRet");
      e && !f.errnoRet(*e, base + ".defaultErrnoRet", out.defaultAction, out.defaultErrnoRet))
    return false;

  if (const json* a = Fields::member(j, "architectures")) {
    if (!f.strings(*a, base + ".architectures", out.architectures)) return false;
    for (size_t i = 0; i < out.architectures.size(); i++)
      if (!known(kArchitectures, out.architectures[i]))
        return f.fail(base + ".architectures[" + std::to_string(i) + "]",
                      "unknown architecture \"" + out.architectures[i] + "\"");
  }
  if (const json* fl = Fields::member(j, "flags")) {
    if (!f.strings(*fl, base + ".flags", out.flags)) return false;
    for (size_t i = 0; i < out.flags.size(); i++)
      if (!known(kFlags, out.flags[i]))
        return f.fail(base + ".flags[" + std::to_string(i) + "]", "unknown flag \"" + out.flags[i] + "\"");
  }
  if (const json* l = Fields::member(j, "listenerPath"); l && !f.str(*l, base + ".listenerPath", out.listenerPath))
    return false;
  if (const json* m = Fields::member(j, "listenerMetadata")) {
    std::string metadata;
    if (!f.str(*m, base + ".listenerMetadata", metadata)) return false;
    if (out.listenerPath.empty()) return f.fail(base + ".listenerMetadata", "must not be set without listenerPath");
  }

  if (const json* s = Fields::member(j, "syscalls")) {
    if (!s->is_array()) return f.fail(base + ".syscalls", "must be an array");
    for (size_t i = 0; i < s->size(); i++) {
      SeccompRule r;
      if (!parseRule(f, (*s)[i], base + ".syscalls[" + std::to_string(i) + "]", r)) return false;
      out.syscalls.push_back(std::move(r));
    }
  }
  out.canonical = j.dump();
  return true;
}

int CompileSeccomp(const SeccompConfig& cfg, SeccompProgram& out, std::string& message) {
  message.clear();
  uint32_t defaultAction;
  if (!actionValue(cfg.defaultAction, cfg.defaultErrnoRet, defaultAction)) {
    message = "unknown default action \"" + cfg.defaultAction + "\"";
    return EINVAL;
  }
  bool notify = defaultAction == SCMP_ACT_NOTIFY;
  for (const SeccompRule& r : cfg.syscalls) notify = notify || r.action == "SCMP_ACT_NOTIFY";
  if (notify) {
    message = "SCMP_ACT_NOTIFY is not supported (no seccomp listener for listenerPath)";
    return EOPNOTSUPP;
  }

  Filter filter(seccomp_init(defaultAction));
  if (!filter.valid()) {
    message = "seccomp_init " + cfg.defaultAction + ": not supported by this kernel or libseccomp";
    return EINVAL;
  }
  int rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return failed(rc, message, "seccomp_attr_set no_new_privs");
  // Without this seccomp_load reports every kernel refusal as ECANCELED.
  rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_API_SYSRAWRC, 1);
  if (rc < 0) return failed(rc, message, "seccomp_attr_set SYSRAWRC");

  for (const std::string& arch : cfg.architectures) {
    uint32_t token = archToken(arch);
    if (token == 0) {
      message = arch + ": not supported by libseccomp " + std::to_string(seccomp_version()->major) + "." +
                std::to_string(seccomp_version()->minor) + "." + std::to_string(seccomp_version()->micro);
      return EOPNOTSUPP;
    }
    rc = seccomp_arch_add(filter.get(), token);
    if (rc < 0 && rc != -EEXIST) return failed(rc, message, "seccomp_arch_add " + arch);
  }
  out.flags = 0;
  for (const std::string& flag : cfg.flags) {
    if (int err = setFlag(filter, flag, message)) return err;
    if (flag == "SECCOMP_FILTER_FLAG_TSYNC") out.flags |= SECCOMP_FILTER_FLAG_TSYNC;
    if (flag == "SECCOMP_FILTER_FLAG_LOG") out.flags |= SECCOMP_FILTER_FLAG_LOG;
    if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") out.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  }

  size_t added = 0;
  for (const SeccompRule& r : cfg.syscalls) {
    uint32_t action;
    if (!actionValue(r.action, r.errnoRet, action)) {
      message = "unknown action \"" + r.action + "\"";
      return EINVAL;
    }
    if (action == defaultAction) continue;

    std::vector<scmp_arg_cmp> cmps;
    unsigned seen = 0;
    bool repeated = false;
    for (const SeccompArg& a : r.args) {
      const Operator* op = nullptr;
      for (const Operator& o : kOperators)
        if (a.op == o.name) op = &o;
      if (!op || a.index >= kMaxArgs) {
        message = "invalid comparison " + a.op + " on argument " + std::to_string(a.index);
        return EINVAL;
      }
      repeated = repeated || (seen & (1u << a.index));
      seen |= 1u << a.index;
      cmps.push_back(scmp_arg_cmp{a.index, op->op, a.value, a.valueTwo});
    }

    for (const std::string& name : r.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // newer than this libseccomp, or of no architecture it knows
      if (!repeated) {
        rc = seccomp_rule_add_array(filter.get(), action, nr, static_cast<unsigned>(cmps.size()), cmps.data());
        if (rc < 0) return failed(rc, message, "seccomp rule " + name + " " + r.action);
        added++;
        continue;
      }
      for (const scmp_arg_cmp& c : cmps) {
        rc = seccomp_rule_add_array(filter.get(), action, nr, 1, &c);
        if (rc < 0) return failed(rc, message, "seccomp rule " + name + " " + r.action);
        added++;
      }
    }
  }
  // Best effort: without it the filter is the same, only linear.
  if (added > kOptimizeAbove) seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);

  // The BPF through a pipe-like memfd: seccomp_export_bpf writes to an fd.
  Fd mem(static_cast<int>(syscall(SYS_memfd_create, "seccomp", MFD_CLOEXEC)));
  if (!mem.valid()) return failed(-errno, message, "memfd_create");
  rc = seccomp_export_bpf(filter.get(), mem.get());
  if (rc < 0) return failed(rc, message, "seccomp_export_bpf");
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0) return failed(-EINVAL, message, "seccomp_export_bpf: odd size");
  out.bpf.resize(static_cast<size_t>(size));
  if (pread(mem.get(), out.bpf.data(), out.bpf.size(), 0) != size) return failed(-errno, message, "read exported filter");
  return 0;
}

int LoadSeccompProgram(const SeccompProgram& p, std::string& message) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(p.bpf.size() / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(const_cast<uint8_t*>(p.bpf.data()));
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.flags, &prog) != 0) {
    int err = errno;
    message = std::string("seccomp: ") + strerror(err);
    if (err == EACCES) message += " (without no_new_privs this needs CAP_SYS_ADMIN)";
    if (err == ESRCH) message += " (SECCOMP_FILTER_FLAG_TSYNC: another thread has a different filter)";
    return err;
  }
  return 0;
}

int LoadSeccomp(const SeccompConfig& cfg, std::string& message) {
  SeccompProgram p;
  if (int err = CompileSeccomp(cfg, p, message)) return err;
  return LoadSeccompProgram(p, message);
}

}  // namespace tsswarm
