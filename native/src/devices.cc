// Device allowlists: linux.resources.devices on the cgroup v1 devices controller and as a cgroup v2
// device program (BPF_PROG_TYPE_CGROUP_DEVICE), with the same meaning on both (see devices.h).
//
// The v2 program is built by hand from struct bpf_insn (no libbpf), as runc and crun do. It keeps the
// access modes the rules allow so far for the device asked about, rule by rule, and allows the
// request when every mode it asks for is among them:
//
//   r2 = type, r3 = requested modes, r4 = major, r5 = minor   (struct bpf_cgroup_dev_ctx)
//   w6 = 0                                                     (or rwm after a last 'a' allow)
//   per rule: if r2 != type goto next; [if r4 != major goto next;] [if r5 != minor goto next;]
//             w6 |= modes (allow)  or  w6 &= ~modes (deny)
//   w6 ^= rwm; w3 &= w6; w0 = 1; if r3 == 0 goto exit; w0 = 0; exit
//
// Keeping modes rather than returning at the first matching rule lets a later rule override part
// of an earlier one (deny "w" of c 1:*, after allowing rwm of c 1:3) without the rule list having to
// be rewritten first.
//
// cgroup v1 keeps a list of exceptions to a default (allow all or deny all) and takes access out of
// an exception only when a rule names exactly its devices; a rule naming other devices is silently
// ignored. The v1 path therefore plans its writes on a model of that list: a rule that overrides a
// narrower earlier one is also written for that one's devices, and a rule that would override part
// of a wider one (a hole in a wildcard, which v1 cannot hold) fails before anything is written, as
// it does in runc, rather than leaving the container more access than the rules say.

#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "fd.h"

namespace tsswarm {
namespace {

constexpr unsigned kAllModes = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
// What a dev_t holds (12 and 20 bits). Larger numbers name no device, and v1 would read a major or
// minor of 2^32-1 as '*'. Both fit a jump's immediate, so 64-bit compares need no BPF_JMP32 (5.1).
constexpr int64_t kMaxMajor = 4095, kMaxMinor = 1048575;
constexpr const char* kLicense = "Apache";
constexpr size_t kLogSize = 64 * 1024;
constexpr size_t kLogTail = 1024;  // the verifier's reason is at the end of its log

std::string errnoText(int err) { return strerror(err); }

// A rule checked and with its access as BPF_DEVCG_ACC_* bits.
struct Rule {
  bool allow;
  char type;
  int64_t major, minor;  // -1: any
  unsigned modes;
};

bool modesOf(const std::string& access, unsigned& modes) {
  modes = 0;
  for (char c : access) {
    if (c == 'r') modes |= BPF_DEVCG_ACC_READ;
    else if (c == 'w') modes |= BPF_DEVCG_ACC_WRITE;
    else if (c == 'm') modes |= BPF_DEVCG_ACC_MKNOD;
    else return false;
  }
  if (modes == 0) modes = kAllModes;
  return true;
}

std::string modesText(unsigned modes) {
  std::string s;
  if (modes & BPF_DEVCG_ACC_READ) s += 'r';
  if (modes & BPF_DEVCG_ACC_WRITE) s += 'w';
  if (modes & BPF_DEVCG_ACC_MKNOD) s += 'm';
  return s;
}

std::string numberText(int64_t n) { return n < 0 ? "*" : std::to_string(n); }

// devices.allow syntax ("c 1:3 rwm"), also how messages name a rule.
std::string linePart(char type, int64_t major, int64_t minor, unsigned modes) {
  if (type == 'a') return "a *:* rwm";
  return std::string(1, type) + " " + numberText(major) + ":" + numberText(minor) + " " + modesText(modes);
}

std::string ruleText(const Rule& r) {
  return (r.allow ? "allow " : "deny ") + linePart(r.type, r.major, r.minor, r.modes);
}

bool checkRules(const std::vector<DeviceRule>& in, std::vector<Rule>& out, std::string& message) {
  out.clear();
  for (size_t i = 0; i < in.size(); i++) {
    const DeviceRule& r = in[i];
    std::string at = "device rule " + std::to_string(i);
    unsigned modes = 0;
    if (r.type != 'a' && r.type != 'b' && r.type != 'c') {
      message = at + ": type must be 'a', 'b' or 'c'";
      return false;
    }
    if (r.major < -1 || r.major > kMaxMajor || r.minor < -1 || r.minor > kMaxMinor) {
      message = at + ": major must be -1 (any) or from 0 to " + std::to_string(kMaxMajor) +
                ", minor -1 or from 0 to " + std::to_string(kMaxMinor);
      return false;
    }
    if (!modesOf(r.access, modes)) {
      message = at + ": access \"" + r.access + "\" must be made of r, w and m";
      return false;
    }
    out.push_back(Rule{r.allow, r.type, r.major, r.minor, modes});
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// cgroup v1

bool sameDevices(const Rule& a, const Rule& b) {
  return a.type == b.type && a.major == b.major && a.minor == b.minor;
}

bool covers(int64_t wide, int64_t n) { return wide < 0 || wide == n; }

bool within(const Rule& inner, const Rule& outer) {
  return inner.type == outer.type && covers(outer.major, inner.major) && covers(outer.minor, inner.minor);
}

bool overlap(const Rule& a, const Rule& b) {
  return a.type == b.type && (covers(a.major, b.major) || covers(b.major, a.major)) &&
         (covers(a.minor, b.minor) || covers(b.minor, a.minor));
}

struct V1Write {
  bool allow;  // devices.allow, else devices.deny
  std::string line;
};

// The kernel's list, as far as our own writes made it: the default and one entry per distinct
// devices (the kernel merges the modes of rules naming the same devices).
struct V1List {
  bool defaultAllow = false;
  std::vector<Rule> exceptions;
};

bool planV1(const std::vector<Rule>& rules, std::vector<V1Write>& plan, std::string& message) {
  V1List list;
  plan.push_back({false, "a *:* rwm"});
  for (size_t i = 0; i < rules.size(); i++) {
    const Rule& r = rules[i];
    if (r.type == 'a') {
      list = V1List{r.allow, {}};
    } else if (r.allow != list.defaultAllow) {
      // An exception to the default: the kernel adds it, merged with one for the same devices.
      bool merged = false;
      for (Rule& e : list.exceptions) {
        if (sameDevices(e, r)) {
          e.modes |= r.modes;
          merged = true;
        }
      }
      if (!merged) list.exceptions.push_back(r);
    } else {
      // Back to the default for these devices: the kernel only edits an exception for exactly them.
      for (size_t k = 0; k < list.exceptions.size();) {
        Rule& e = list.exceptions[k];
        unsigned common = e.modes & r.modes;
        if (common != 0 && overlap(e, r)) {
          if (!within(e, r)) {
            message = "device rule " + std::to_string(i) + " (" + ruleText(r) +
                      "): cgroup v1 cannot override an earlier rule (" + ruleText(e) +
                      ") for only part of its devices";
            return false;
          }
          if (!sameDevices(e, r)) plan.push_back({r.allow, linePart(e.type, e.major, e.minor, common)});
          e.modes &= ~common;
        }
        if (e.modes == 0) list.exceptions.erase(list.exceptions.begin() + static_cast<ptrdiff_t>(k));
        else k++;
      }
    }
    plan.push_back({r.allow, linePart(r.type, r.major, r.minor, r.modes)});
  }
  return true;
}

// One write per line: the devices files take one rule per write(2).
int writeRule(const std::string& cgroupDir, const V1Write& w, std::string& message) {
  std::string path = cgroupDir + (w.allow ? "/devices.allow" : "/devices.deny");
  Fd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    message = path + ": " + errnoText(err);
    return err;
  }
  ssize_t n;
  do n = write(fd.get(), w.line.data(), w.line.size());
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(w.line.size())) return 0;
  int err = n < 0 ? errno : EIO;
  message = path + ": write \"" + w.line + "\": " + errnoText(err);
  return err;
}

// ---------------------------------------------------------------------------------------------
// cgroup v2

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

bpf_insn loadWord(uint8_t dst, uint8_t src, size_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, static_cast<int16_t>(off), 0);
}
bpf_insn alu32(uint8_t op, uint8_t dst, uint32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, static_cast<int32_t>(imm));
}
bpf_insn alu32Reg(uint8_t op, uint8_t dst, uint8_t src) { return insn(BPF_ALU | op | BPF_X, dst, src, 0, 0); }
bpf_insn jump(uint8_t op, uint8_t dst, uint32_t imm, int off) {
  return insn(BPF_JMP | op | BPF_K, dst, 0, static_cast<int16_t>(off), static_cast<int32_t>(imm));
}
bpf_insn exitInsn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

constexpr uint8_t kType = BPF_REG_2, kWanted = BPF_REG_3, kMajor = BPF_REG_4, kMinor = BPF_REG_5,
                  kAllowed = BPF_REG_6;

bool buildProgram(const std::vector<DeviceRule>& in, std::vector<bpf_insn>& prog, std::string& message) {
  std::vector<Rule> rules;
  if (!checkRules(in, rules, message)) return false;
  // An 'a' rule decides every device, so nothing before the last one matters.
  size_t first = 0;
  unsigned allowed = 0;
  for (size_t i = rules.size(); i-- > 0;) {
    if (rules[i].type == 'a') {
      first = i + 1;
      allowed = rules[i].allow ? kAllModes : 0;
      break;
    }
  }

  prog.clear();
  prog.push_back(loadWord(kType, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, access_type)));
  prog.push_back(alu32(BPF_AND, kType, 0xffff));
  prog.push_back(loadWord(kWanted, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, access_type)));
  prog.push_back(alu32(BPF_RSH, kWanted, 16));
  prog.push_back(loadWord(kMajor, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, major)));
  prog.push_back(loadWord(kMinor, BPF_REG_1, offsetof(bpf_cgroup_dev_ctx, minor)));
  prog.push_back(alu32(BPF_MOV, kAllowed, allowed));

  for (size_t i = first; i < rules.size(); i++) {
    const Rule& r = rules[i];
    // Each jump skips the rest of the block: the remaining tests and the mode update.
    int rest = 1 + (r.major >= 0) + (r.minor >= 0);
    prog.push_back(jump(BPF_JNE, kType, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, rest--));
    if (r.major >= 0) prog.push_back(jump(BPF_JNE, kMajor, static_cast<uint32_t>(r.major), rest--));
    if (r.minor >= 0) prog.push_back(jump(BPF_JNE, kMinor, static_cast<uint32_t>(r.minor), rest--));
    if (r.allow) prog.push_back(alu32(BPF_OR, kAllowed, r.modes));
    else prog.push_back(alu32(BPF_AND, kAllowed, kAllModes & ~r.modes));
  }

  prog.push_back(alu32(BPF_XOR, kAllowed, kAllModes));  // now the modes not allowed
  prog.push_back(alu32Reg(BPF_AND, kWanted, kAllowed));
  prog.push_back(alu32(BPF_MOV, BPF_REG_0, 1));
  prog.push_back(jump(BPF_JEQ, kWanted, 0, 1));
  prog.push_back(alu32(BPF_MOV, BPF_REG_0, 0));
  prog.push_back(exitInsn());
  return true;
}

long sysBpf(int cmd, bpf_attr& attr) { return syscall(SYS_bpf, cmd, &attr, sizeof attr); }

// The log in one line, its end only.
std::string logTail(const std::string& log) {
  std::string s(log.c_str());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() > kLogTail) s = "..." + s.substr(s.size() - kLogTail);
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return s;
}

int loadProgram(const std::vector<bpf_insn>& prog, Fd& out, std::string& message) {
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uintptr_t>(prog.data());
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.license = reinterpret_cast<uintptr_t>(kLicense);
  // EAGAIN is transient (libbpf retries it too). No log on the first try: logging slows the verifier.
  long fd = sysBpf(BPF_PROG_LOAD, attr);
  for (int retry = 0; fd < 0 && errno == EAGAIN && retry < 4; retry++) fd = sysBpf(BPF_PROG_LOAD, attr);
  if (fd >= 0) {
    out.reset(static_cast<int>(fd));
    return 0;
  }
  int err = errno;
  std::string log(kLogSize, '\0');
  attr.log_buf = reinterpret_cast<uintptr_t>(&log[0]);
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  fd = sysBpf(BPF_PROG_LOAD, attr);
  if (fd >= 0) {
    out.reset(static_cast<int>(fd));
    return 0;
  }
  message = "load device program: " + errnoText(err);
  std::string tail = logTail(log);
  if (!tail.empty()) message += ": " + tail;
  return err;
}

// Absent or null: any (-1).
bool parseNumber(const nlohmann::json& rule, const char* name, int64_t max, const std::string& at, int64_t& n,
                 std::string& problem) {
  auto v = rule.find(name);
  if (v == rule.end() || v->is_null()) return true;
  // The parser keeps non-negative numbers unsigned, a json built in code may hold them signed.
  if (v->is_number_unsigned() && v->get<uint64_t>() <= static_cast<uint64_t>(max)) {
    n = static_cast<int64_t>(v->get<uint64_t>());
    return true;
  }
  if (!v->is_number_unsigned() && v->is_number_integer()) {
    int64_t i = v->get<int64_t>();
    if (i >= -1 && i <= max) {  // runc reads an explicit -1 as any too
      n = i;
      return true;
    }
  }
  problem = at + "." + name + ": must be an integer from 0 to " + std::to_string(max);
  return false;
}

}  // namespace

bool ParseDeviceRules(const nlohmann::json& arr, std::vector<DeviceRule>& out, std::string& problem) {
  const std::string field = "linux.resources.devices";
  if (!arr.is_array()) {
    problem = field + ": must be an array";
    return false;
  }
  std::vector<DeviceRule> rules;
  for (size_t i = 0; i < arr.size(); i++) {
    const nlohmann::json& e = arr[i];
    std::string at = field + "[" + std::to_string(i) + "]";
    if (!e.is_object()) {
      problem = at + ": must be an object";
      return false;
    }
    DeviceRule r{false, 'a', -1, -1, ""};

    auto allow = e.find("allow");
    if (allow == e.end() || !allow->is_boolean()) {
      problem = at + ".allow: must be true or false";
      return false;
    }
    r.allow = allow->get<bool>();

    // Absent, null and "" (Go's omitempty) all mean every type.
    auto type = e.find("type");
    if (type != e.end() && !type->is_null()) {
      const std::string* t = type->is_string() ? type->get_ptr<const std::string*>() : nullptr;
      if (!t || (*t != "" && *t != "a" && *t != "b" && *t != "c")) {
        problem = at + ".type: must be \"a\", \"b\" or \"c\"";
        return false;
      }
      if (!t->empty()) r.type = (*t)[0];
    }

    if (!parseNumber(e, "major", kMaxMajor, at, r.major, problem) ||
        !parseNumber(e, "minor", kMaxMinor, at, r.minor, problem))
      return false;

    auto access = e.find("access");
    if (access != e.end() && !access->is_null()) {
      unsigned modes = 0;
      const std::string* a = access->is_string() ? access->get_ptr<const std::string*>() : nullptr;
      if (!a || !modesOf(*a, modes)) {
        problem = at + ".access: must be made of the letters r, w and m";
        return false;
      }
      r.access = modesText(modes);
    }
    rules.push_back(std::move(r));
  }
  out = std::move(rules);
  return true;
}

int ApplyDevicesV1(const std::string& cgroupDir, const std::vector<DeviceRule>& rules, std::string& message) {
  std::vector<Rule> checked;
  std::vector<V1Write> plan;
  if (!checkRules(rules, checked, message) || !planV1(checked, plan, message)) return EINVAL;
  for (const V1Write& w : plan) {
    int err = writeRule(cgroupDir, w, message);
    if (err != 0) return err;
  }
  return 0;
}

int ApplyDevicesV2(int cgroupDirFd, const std::vector<DeviceRule>& rules, std::string& message) {
  std::vector<bpf_insn> prog;
  if (!buildProgram(rules, prog, message)) return EINVAL;
  Fd progFd;
  int err = loadProgram(prog, progFd, message);
  if (err != 0) return err;
  bpf_attr attr{};
  attr.target_fd = static_cast<uint32_t>(cgroupDirFd);
  attr.attach_bpf_fd = static_cast<uint32_t>(progFd.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sysBpf(BPF_PROG_ATTACH, attr) < 0) {
    err = errno;
    message = "attach device program: " + errnoText(err);
    return err;
  }
  return 0;
}

size_t DeviceProgramSize(const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> prog;
  std::string ignored;
  return buildProgram(rules, prog, ignored) ? prog.size() : 0;
}

}  // namespace tsswarm
