// The log relay (see log-relay.h).

#include "log-relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "text.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

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

// A pipe with both ends above stdio and CLOEXEC (the container inherits its end through the clone
// and StdioSwap, never through exec). 0 or errno.
int StdioPipe(Fd& readEnd, Fd& writeEnd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return errno;
  readEnd.reset(AboveStdio(p[0]));
  writeEnd.reset(AboveStdio(p[1]));
  if (readEnd.valid() && writeEnd.valid()) return 0;
  return errno != 0 ? errno : EMFILE;
}

constexpr const char* kStdinAnnotation = "tsswarm.stdin";

int WaitPid(pid_t pid, int& status) {
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errno;
  return 0;
}

}  // namespace

int PlanStdio(const OciConfig& cfg, bool ownsTerminal, StdioPlan& plan, std::string& message) {
  plan = StdioPlan{};
  plan.terminal = cfg.terminal && ownsTerminal;
  auto a = cfg.annotations.find(kStdinAnnotation);
  if (a == cfg.annotations.end()) return 0;
  if (a->second != "open") {
    message = std::string("config.json: annotations.") + kStdinAnnotation + ": unknown value \"" + a->second + "\" (open)";
    return EINVAL;
  }
  // With a terminal, stdin is the pty, which nobody writes either.
  plan.openStdin = !cfg.terminal;
  return 0;
}

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

void FormatLogTime(char (&out)[LineFramer::kTimeLength + 1]) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  // Fixed widths, digit by digit: one of these per read, and no year past 9999 to allow for.
  auto put = [&](size_t at, size_t width, uint64_t v) {
    for (size_t i = width; i-- > 0; v /= 10) out[at + i] = static_cast<char>('0' + v % 10);
  };
  memcpy(out, "0000-00-00T00:00:00.000000000Z", LineFramer::kTimeLength + 1);
  put(0, 4, static_cast<uint64_t>(t.tm_year + 1900));
  put(5, 2, static_cast<uint64_t>(t.tm_mon + 1));
  put(8, 2, static_cast<uint64_t>(t.tm_mday));
  put(11, 2, static_cast<uint64_t>(t.tm_hour));
  put(14, 2, static_cast<uint64_t>(t.tm_min));
  put(17, 2, static_cast<uint64_t>(t.tm_sec));
  put(20, 9, static_cast<uint64_t>(ts.tv_nsec));
}

LineFramer::LineFramer(RotatingFile* file, const char* stream, size_t maxContent)
    : file_(file), stream_(stream), maxContent_(maxContent > 0 ? maxContent : 1) {
  held_.reserve(maxContent_);
}

void LineFramer::Feed(const char* data, size_t n, const char* time) {
  while (n > 0) {
    const char* nl = static_cast<const char*>(memchr(data, '\n', n));
    size_t line = nl != nullptr ? static_cast<size_t>(nl - data) : n;
    // More of the line than one record holds is known: a full piece goes out as P.
    while (held_.size() + line > maxContent_) {
      size_t take = maxContent_ - held_.size();
      Record('P', data, take, time);
      data += take;
      n -= take;
      line -= take;
    }
    if (nl == nullptr) {
      held_.append(data, line);
      break;
    }
    Record('F', data, line, time);
    data += line + 1;
    n -= line + 1;
  }
  Flush();
}

void LineFramer::End(const char* time) {
  if (!held_.empty()) Record('F', nullptr, 0, time);
  Flush();
}

void LineFramer::Record(char tag, const char* data, size_t n, const char* time) {
  // A read of many short lines makes one write of many records, not one each; a long read is
  // written on the way, so the batch stays about a chunk.
  if (out_.size() >= 64 * 1024) Flush();
  out_.append(time, kTimeLength);
  out_ += ' ';
  out_ += stream_;
  out_ += ' ';
  out_ += tag;
  out_ += ' ';
  out_ += held_;
  out_.append(data, n);
  out_ += '\n';
  held_.clear();
}

void LineFramer::Flush() {
  if (out_.empty()) return;
  // Whole records only: RotatingFile rotates after the last line end that fits.
  file_->Write(out_.data(), out_.size());
  out_.clear();
}

void LogRelay::AddSource(int i, Fd fd, const char* stream) {
  Source& src = sources_[i];
  src.fd = std::move(fd);
  src.open = true;
  if (framed_ && file_) src.framer = std::make_unique<LineFramer>(file_.get(), stream, maxContent_);
}

int LogRelay::Prepare(const LogConfig& cfg, const StdioPlan& plan, std::string& step, std::string& message) {
  auto failed = [&](int err, const char* what, const std::string& text) {
    step = what;
    message = text;
    return err;
  };
  if (plan.openStdin)
    if (int err = StdioPipe(stdinRead_, stdinWrite_)) return failed(err, "stdin pipe", ErrnoText(err));
  terminal_ = plan.terminal;
  if (terminal_) {
    // SOCK_STREAM, as a console socket is: PID 1 sends the master the same way to either.
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
      int err = errno;
      return failed(err, "console", "socketpair: " + ErrnoText(err));
    }
    consoleShim_.reset(AboveStdio(sv[0]));
    consoleChild_.reset(AboveStdio(sv[1]));
    if (!consoleShim_.valid() || !consoleChild_.valid()) {
      int err = errno;
      return failed(err, "console", "fcntl: " + ErrnoText(err));
    }
    buf_.reset(new char[kChunk]);
  }
  if (cfg.mode == LogConfig::kInherit) {
    if (!terminal_) return 0;
    // The pty's output goes where the container's would have gone: the shim's stdout (a stdout
    // closed by our caller: nowhere, as a container's writes to it would have gone).
    Fd out(fcntl(1, F_DUPFD_CLOEXEC, 3));
    if (out.valid()) file_ = std::make_unique<RotatingFile>(std::move(out));
    return 0;
  }
  if (cfg.mode == LogConfig::kDiscard) {
    if (terminal_) return 0;  // read and dropped
    devNull_.reset(AboveStdio(open("/dev/null", O_WRONLY | O_CLOEXEC)));
    if (devNull_.valid()) return 0;
    int err = errno;
    return failed(err, "open log", "/dev/null: " + ErrnoText(err));
  }
  file_ = std::make_unique<RotatingFile>(cfg.path, cfg.maxSize, cfg.maxFiles);
  if (int err = file_->Open()) return failed(err, "open log", cfg.path + ": " + ErrnoText(err));
  framed_ = cfg.framed;
  // A record must fit in one file to stay whole (log-relay.h): smaller pieces under a small max-size.
  if (cfg.maxSize < LineFramer::kMaxContent + LineFramer::kOverhead)
    maxContent_ = cfg.maxSize > LineFramer::kOverhead ? static_cast<size_t>(cfg.maxSize) - LineFramer::kOverhead : 1;
  if (terminal_) return 0;  // the pty is the pipe
  Fd outRead, errRead;
  if (int err = StdioPipe(outRead, outWrite_)) return failed(err, "log pipe", ErrnoText(err));
  // Framed: stderr apart, so that each record says which it came from.
  if (framed_)
    if (int err = StdioPipe(errRead, errWrite_)) return failed(err, "log pipe", ErrnoText(err));
  AddSource(0, std::move(outRead), "stdout");
  if (framed_) AddSource(1, std::move(errRead), "stderr");
  buf_.reset(new char[kChunk]);
  return 0;
}

int LogRelay::stdoutFd() const {
  if (outWrite_.valid()) return outWrite_.get();
  return devNull_.valid() ? devNull_.get() : -1;
}

int LogRelay::stderrFd() const { return errWrite_.valid() ? errWrite_.get() : stdoutFd(); }

int LogRelay::stdinFd() const { return stdinRead_.valid() ? stdinRead_.get() : -1; }

int LogRelay::consoleFd() const { return consoleChild_.valid() ? consoleChild_.get() : -1; }

void LogRelay::Started() {
  // Only the container holds the write end from here on, so the pipe's EOF means its processes
  // have all closed their stdout and stderr. Its stdin and its console end are its own too.
  outWrite_.reset();
  errWrite_.reset();
  devNull_.reset();
  stdinRead_.reset();
  consoleChild_.reset();
}

int LogRelay::TakeTerminal(std::string& step, std::string& message) {
  if (!terminal_) return 0;
  step = "console";
  // PID 1 sent it before "ready" (step 6): it is here already, or it never comes.
  char name[64];
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{name, sizeof name};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(consoleShim_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  consoleShim_.reset();
  if (n < 0 && errno != EAGAIN) {
    int err = errno;
    message = "receive the pty master: " + ErrnoText(err);
    return err;
  }
  Fd master;
  for (cmsghdr* c = n > 0 ? CMSG_FIRSTHDR(&msg) : nullptr; c != nullptr; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
      master.reset(AboveStdio(fd));
    }
  if (!master.valid()) {
    message = "container init sent no pty master";
    return EPROTO;
  }
  // O_NOCTTY: the shim leads a session of its own and must never take the container's terminal.
  ptySlave_.reset(AboveStdio(ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)));
  if (!ptySlave_.valid()) {
    int err = errno;
    message = "open the pty slave: " + ErrnoText(err);
    return err;
  }
  AddSource(0, std::move(master), "stdout");
  return 0;
}

LogRelay::Read LogRelay::ReadOnce(Source& src, size_t& got) {
  ssize_t n;
  do n = read(src.fd.get(), buf_.get(), kChunk);
  while (n < 0 && errno == EINTR);
  got = n > 0 ? static_cast<size_t>(n) : 0;
  if (n > 0) {
    Deliver(src, buf_.get(), got);
    return Read::kData;
  }
  if (n < 0 && errno == EAGAIN) return Read::kEmpty;
  // EOF (or a pty master's EIO): what the stream held back is a line of its own now.
  src.open = false;
  if (src.framer) {
    char time[LineFramer::kTimeLength + 1];
    FormatLogTime(time);
    src.framer->End(time);
  }
  return Read::kEnd;
}

void LogRelay::Deliver(Source& src, const char* data, size_t n) {
  if (src.framer) {
    char time[LineFramer::kTimeLength + 1];
    FormatLogTime(time);
    src.framer->Feed(data, n, time);
  } else if (file_) {
    file_->Write(data, n);  // the bytes as they came
  }
}

int LogRelay::Wait(pid_t pid, int& status) {
  if (!sources_[0].open) {
    int err = WaitPid(pid, status);
    stdinWrite_.reset();
    return err;
  }
  // A log file past the shim's RLIMIT_FSIZE makes write fail with EFBIG (dropped bytes) instead of
  // killing the shim. The container was cloned before this, so it keeps the default.
  signal(SIGXFSZ, SIG_IGN);
  for (Source& src : sources_)
    if (src.open) fcntl(src.fd.get(), F_SETFL, O_NONBLOCK);
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  bool reaped = false;
  size_t got = 0;
  for (;;) {
    pollfd fds[3];
    Source* polled[2];
    nfds_t count = 0;
    for (Source& src : sources_)
      if (src.open) {
        polled[count] = &src;
        fds[count++] = {src.fd.get(), POLLIN, 0};
      }
    // At EOF of every stream (PID 1 and its children closed stdout and stderr) there is nothing
    // left to relay but the exit.
    if (count == 0) break;
    nfds_t streams = count;
    if (pidfd.valid()) fds[count++] = {pidfd.get(), POLLIN, 0};
    int n = poll(fds, count, pidfd.valid() ? -1 : kReapPollMs);
    if (n < 0 && errno != EINTR) break;  // nothing to watch with: wait plainly, then drain
    // One chunk of each stream per turn: a container that writes without pause still has its exit noticed.
    for (nfds_t i = 0; n > 0 && i < streams; i++)
      if (fds[i].revents != 0) ReadOnce(*polled[i], got);
    bool exited = pidfd.valid() ? n > 0 && (fds[streams].revents & POLLIN) != 0 : true;
    if (!exited) continue;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      reaped = true;
      break;
    }
    if (r < 0 && errno != EINTR) return errno;
  }
  if (!reaped)
    if (int err = WaitPid(pid, status)) {
      stdinWrite_.reset();
      return err;
    }
  stdinWrite_.reset();
  // Everything PID 1 wrote is in the pipes now, and so is what every other process of its pid
  // namespace wrote: the kernel ends them all before it reports PID 1's exit. A process outside
  // that namespace (pid: host) may still hold a write end, so this reads what is there and at most
  // twice a pipe's capacity of each, never waits for more; the streams take turns a chunk at a time,
  // as they do above. A pty master that finds no input flushes what the slave's writers queued
  // before it says EAGAIN, so a non-blocking read misses nothing either; its buffer (64 KiB) is
  // within the budget a pipe's unknown capacity gives.
  uint64_t budget[2] = {0, 0};
  for (int i = 0; i < 2; i++) {
    if (!sources_[i].open) continue;
    int capacity = fcntl(sources_[i].fd.get(), F_GETPIPE_SZ);
    budget[i] = 2 * static_cast<uint64_t>(capacity > 0 ? capacity : static_cast<int>(kChunk));
  }
  for (bool more = true; more;) {
    more = false;
    for (int i = 0; i < 2; i++) {
      Source& src = sources_[i];
      if (!src.open || budget[i] == 0) continue;
      if (ReadOnce(src, got) != Read::kData) {
        budget[i] = 0;
        continue;
      }
      budget[i] = got < budget[i] ? budget[i] - got : 0;
      more = true;
    }
  }
  // A line still held where a stream did not end (a writer outside the pid namespace) is written as
  // it is: nothing more of it is read.
  char time[LineFramer::kTimeLength + 1];
  FormatLogTime(time);
  for (Source& src : sources_) {
    if (src.framer) src.framer->End(time);
    src.fd.reset();
    src.open = false;
  }
  ptySlave_.reset();
  return 0;
}

StdioSwap::StdioSwap(int in, int out, int err) {
  for (int i = 0; i < 3; i++) {
    int fd = i == 0 ? in : i == 1 ? out : err;
    if (fd < 0) continue;
    active_[i] = true;
    // -1 (EBADF) when the shim's own was closed: then it is closed again afterwards.
    saved_[i].reset(fcntl(i, F_DUPFD_CLOEXEC, 3));
    dup2(fd, i);
  }
}

StdioSwap::~StdioSwap() {
  int err = errno;
  for (int i = 0; i < 3; i++) {
    if (!active_[i]) continue;
    if (saved_[i].valid()) dup2(saved_[i].get(), i);
    else close(i);
  }
  errno = err;
}

}  // namespace tsswarm
