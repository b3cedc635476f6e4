// See seccomp-cache.h. A cache file is `<key>\0<flags: 4 bytes><bpf>`, written by rename.

#include "seccomp-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <seccomp.h>

#include "fd.h"
#include "text.h"

namespace tsswarm {

namespace {

std::string Key(const SeccompConfig& cfg) {
  utsname u{};
  uname(&u);
  const scmp_version* v = seccomp_version();
  return "tsswarm-seccomp 1\nlibseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->micro) + "\nkernel " + u.release + "\n" + cfg.canonical;
}

// FNV-1a: only names the file; the key inside is compared in full.
std::string FileName(const std::string& key) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  char buf[32];
  snprintf(buf, sizeof buf, "%016llx.bpf", static_cast<unsigned long long>(h));
  return buf;
}

bool ReadCached(const std::string& path, const std::string& key, SeccompProgram& out) {
  Fd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return false;
  struct stat st {};
  // Only root's own private files: anything else could carry a weaker filter.
  if (fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0) return false;
  std::string data = ReadFd(fd.get(), 4 << 20);
  if (data.size() < key.size() + 1 + 4 || data.compare(0, key.size(), key) != 0 || data[key.size()] != '\0') return false;
  size_t off = key.size() + 1;
  uint32_t flags = 0;
  memcpy(&flags, data.data() + off, 4);
  off += 4;
  size_t n = data.size() - off;
  if (n == 0 || n % 8 != 0) return false;
  out.flags = flags;
  out.bpf.assign(data.begin() + static_cast<long>(off), data.end());
  return true;
}

void Store(const std::string& dir, const std::string& name, const std::string& key, const SeccompProgram& p) {
  std::string tmp = dir + "/." + name + "." + std::to_string(getpid());
  Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return;
  uint32_t flags = p.flags;
  std::string data = key;
  data.push_back('\0');
  data.append(reinterpret_cast<const char*>(&flags), 4);
  data.append(reinterpret_cast<const char*>(p.bpf.data()), p.bpf.size());
  bool ok = WriteAll(fd.get(), data);
  fd.reset();
  if (!ok || rename(tmp.c_str(), (dir + "/" + name).c_str()) < 0) unlink(tmp.c_str());
}

}  // namespace

int CachedSeccompProgram(const SeccompConfig& cfg, const std::string& dir, SeccompProgram& out, std::string& message) {
  std::string key = Key(cfg);
  std::string name = FileName(key);
  if (mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return CompileSeccomp(cfg, out, message);
  if (ReadCached(dir + "/" + name, key, out)) return 0;
  // A deploy starts many containers of one profile at once on a cold cache: one compiles while the
  // others wait on the lock (no CPU) and then read its result, instead of all compiling at once.
  Fd lock(open((dir + "/" + name + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock.valid()) {
    while (flock(lock.get(), LOCK_EX) < 0 && errno == EINTR) {
    }
    if (ReadCached(dir + "/" + name, key, out)) return 0;  // compiled while we waited
  }
  if (int err = CompileSeccomp(cfg, out, message)) return err;
  Store(dir, name, key, out);  // best effort: a read-only root only costs the next start the compile
  return 0;  // the lock goes with its fd
}

}  // namespace tsswarm
