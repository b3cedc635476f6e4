// The log relay (see log-relay.h).

#include "log-relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "text.h"

namespace tsswarm {

namespace {

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

// One read of the pipe: its default capacity, so a full pipe empties in one call.
constexpr size_t kChunk = 64 * 1024;
// Without pidfds (kernels before 5.3) PID 1's exit is noticed by polling this often.
constexpr int kReapPollMs = 100;

// The shim's fds 1 and 2 are swapped for the container's around the clone (StdioSwap): an fd of
// ours must never be one of them, which it would be if the caller started us with 1 or 2 closed.
int AboveStdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int err = errno;
  close(fd);
  errno = err;
  return moved;
}

int WaitPid(pid_t pid, int& status) {
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errno;
  return 0;
}

}  // namespace

int RotatingFile::Open() { return OpenFile(0); }

int RotatingFile::OpenFile(int extraFlags) {
  fd_.reset(AboveStdio(open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | extraFlags, 0640)));
  if (!fd_.valid()) return errno;
  struct stat st {};
  size_ = fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  atLineStart_ = true;  // an existing file is taken to end with a whole line
  return 0;
}

std::string RotatingFile::Name(uint32_t generation) const {
  return generation == 0 ? path_ : path_ + "." + std::to_string(generation);
}

void RotatingFile::Write(const char* data, size_t n) {
  while (n > 0) {
    // A file that could not be (re)opened at the last rotation is tried again with each write.
    if (!fd_.valid() && Open() != 0) return;
    uint64_t room = size_ < maxSize_ ? maxSize_ - size_ : 0;
    if (n <= room) {
      Append(data, n);
      return;
    }
    // Lines stay whole across files where they can: this file takes what fits up to its last line
    // end, and a line that starts here but does not fit starts the next file. A line already begun
    // in this file (an earlier write), or longer than a whole file, is cut where the file is full.
    size_t cut = 0;
    if (room > 0) {
      const void* nl = memrchr(data, '\n', static_cast<size_t>(room));
      if (nl != nullptr) cut = static_cast<size_t>(static_cast<const char*>(nl) - data) + 1;
    }
    if (cut == 0 && (size_ == 0 || !atLineStart_)) cut = static_cast<size_t>(room);
    Append(data, cut);
    data += cut;
    n -= cut;
    Rotate();
    // A rotation that failed leaves no empty file to go on with: the rest is lost, not looped on.
    if (!fd_.valid() || size_ != 0) return;
  }
}

void RotatingFile::Append(const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd_.get(), data, n);
    if (w < 0 && errno == EINTR) continue;
    // A full disk, a quota, an I/O error: these bytes are lost, but the container is not held up
    // waiting for space, and the next write tries again.
    if (w <= 0) return;
    size_ += static_cast<uint64_t>(w);
    atLineStart_ = data[w - 1] == '\n';
    data += w;
    n -= static_cast<size_t>(w);
  }
}

void RotatingFile::Rotate() {
  // One file in all (Docker's max-file 1): it starts again from empty.
  if (maxFiles_ <= 1 && fd_.valid() && ftruncate(fd_.get(), 0) == 0) {
    size_ = 0;
    atLineStart_ = true;
    return;
  }
  fd_.reset();
  // <path>.<n-2> -> <path>.<n-1> replaces (drops) the oldest; ... <path> -> <path>.1. A generation
  // that does not exist yet (ENOENT) is nothing to move.
  for (uint32_t g = maxFiles_ > 1 ? maxFiles_ - 1 : 0; g >= 1; g--) rename(Name(g - 1).c_str(), Name(g).c_str());
  // O_TRUNC: should <path> not have moved away (its rename failed), the bound still holds.
  OpenFile(O_TRUNC);
}

int LogRelay::Prepare(const LogConfig& cfg, std::string& step, std::string& message) {
  if (cfg.mode == LogConfig::kInherit) return 0;
  if (cfg.mode == LogConfig::kDiscard) {
    devNull_.reset(AboveStdio(open("/dev/null", O_WRONLY | O_CLOEXEC)));
    if (devNull_.valid()) return 0;
    int err = errno;
    step = "open log";
    message = "/dev/null: " + ErrnoText(err);
    return err;
  }
  file_ = std::make_unique<RotatingFile>(cfg.path, cfg.maxSize, cfg.maxFiles);
  if (int err = file_->Open()) {
    step = "open log";
    message = cfg.path + ": " + ErrnoText(err);
    return err;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    int err = errno;
    step = "log pipe";
    message = ErrnoText(err);
    return err;
  }
  readEnd_.reset(p[0]);
  writeEnd_.reset(p[1]);
  readEnd_.reset(AboveStdio(readEnd_.release()));
  writeEnd_.reset(AboveStdio(writeEnd_.release()));
  if (!readEnd_.valid() || !writeEnd_.valid()) {
    int err = errno;
    step = "log pipe";
    message = "fcntl: " + ErrnoText(err);
    return err;
  }
  buf_.reset(new char[kChunk]);
  return 0;
}

int LogRelay::containerFd() const {
  if (writeEnd_.valid()) return writeEnd_.get();
  return devNull_.valid() ? devNull_.get() : -1;
}

void LogRelay::Started() {
  // Only the container holds the write end from here on, so the pipe's EOF means its processes
  // have all closed their stdout and stderr.
  writeEnd_.reset();
  devNull_.reset();
}

LogRelay::Read LogRelay::ReadOnce(size_t& got) {
  ssize_t n;
  do n = read(readEnd_.get(), buf_.get(), kChunk);
  while (n < 0 && errno == EINTR);
  got = n > 0 ? static_cast<size_t>(n) : 0;
  if (n > 0) {
    Deliver(buf_.get(), got);
    return Read::kData;
  }
  if (n < 0 && errno == EAGAIN) return Read::kEmpty;
  return Read::kEnd;
}

void LogRelay::Deliver(const char* data, size_t n) {
  // The bytes as they came. Framing (a timestamp per line for `service logs`) goes here.
  file_->Write(data, n);
}

int LogRelay::Wait(pid_t pid, int& status) {
  if (!readEnd_.valid()) return WaitPid(pid, status);
  // A log file past the shim's RLIMIT_FSIZE makes write fail with EFBIG (dropped bytes) instead of
  // killing the shim. The container was cloned before this, so it keeps the default.
  signal(SIGXFSZ, SIG_IGN);
  fcntl(readEnd_.get(), F_SETFL, O_NONBLOCK);
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  bool reaped = false, end = false;
  size_t got = 0;
  while (!reaped && !end) {
    pollfd fds[2] = {{readEnd_.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    int n = poll(fds, pidfd.valid() ? 2 : 1, pidfd.valid() ? -1 : kReapPollMs);
    if (n < 0 && errno != EINTR) break;  // nothing to watch with: wait plainly, then drain
    // One chunk per turn: a container that writes without pause still has its exit noticed.
    if (n > 0 && fds[0].revents != 0) end = ReadOnce(got) == Read::kEnd;
    bool exited = pidfd.valid() ? n > 0 && (fds[1].revents & POLLIN) != 0 : true;
    if (!exited) continue;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) reaped = true;
    else if (r < 0 && errno != EINTR) return errno;
  }
  // At EOF (PID 1 and its children closed stdout) there is nothing left to relay but the exit.
  if (!reaped)
    if (int err = WaitPid(pid, status)) return err;
  // Everything PID 1 wrote is in the pipe now, and so is what every other process of its pid
  // namespace wrote: the kernel ends them all before it reports PID 1's exit. A process outside
  // that namespace (pid: host) may still hold the write end, so this reads what is there and at most
  // twice the pipe's capacity, never waits for more.
  int capacity = fcntl(readEnd_.get(), F_GETPIPE_SZ);
  uint64_t budget = 2 * static_cast<uint64_t>(capacity > 0 ? capacity : static_cast<int>(kChunk));
  for (uint64_t drained = 0; drained < budget; drained += got)
    if (ReadOnce(got) != Read::kData) break;
  readEnd_.reset();
  return 0;
}

StdioSwap::StdioSwap(int fd) {
  if (fd < 0) return;
  active_ = true;
  for (int i = 0; i < 2; i++) {
    // -1 (EBADF) when the shim's own was closed: then it is closed again afterwards.
    saved_[i].reset(fcntl(i + 1, F_DUPFD_CLOEXEC, 3));
    dup2(fd, i + 1);
  }
}

StdioSwap::~StdioSwap() {
  if (!active_) return;
  int err = errno;
  for (int i = 0; i < 2; i++) {
    if (saved_[i].valid()) dup2(saved_[i].get(), i + 1);
    else close(i + 1);
  }
  errno = err;
}

}  // namespace tsswarm
