// The container's stdio: stdout and stderr as its config says (LogConfig, oci-config.h), stdin, and
// the terminal when the shim keeps it (StdioPlan):
//
//   no log annotations: nothing happens here. The container inherits the shim's stdout and stderr,
//     the file its caller opened (the agent's log file, O_APPEND): no pipe, no copy, no cost on the
//     start path.
//   driver none: /dev/null.
//   a path: a pipe (two when framed, below). The shim, the container's parent, which outlives the
//     agent (it is not the agent's child), reads it and appends to the file; with max-size it
//     rotates the file so that at most max-file files of at most max-size bytes each are kept:
//     <path> (newest), <path>.1, ... <path>.<max-file - 1>. Without max-size (the agent sends a path
//     alone only with a format) the one file grows without limit.
//   process.terminal without a console socket: a pty instead of the pipe, for every log mode. PID 1
//     makes it in the container's own devpts (so `tty` inside names /dev/pts/N there), takes the
//     slave as fds 0-2 and controlling terminal (container.cc step 6), and sends the master over a
//     socket pair, as it would to a console socket. The shim relays the master as it relays a pipe:
//     into the rotating file, into its own stdout (the caller's plain file, which the container
//     would otherwise have written itself), or nowhere (none). The shim holds a slave fd of its own
//     for the container's life, so the master never reads EIO while PID 1 lives, however the
//     container closes and reopens its terminal; stdin, the pty, is never written: it never ends.
//   annotation tsswarm.stdin "open" (no terminal): stdin is the read end of a pipe whose write end
//     the shim holds, unwritten, until PID 1 is reaped, instead of the shim's own (the agent's
//     /dev/null): a process reading stdin waits instead of seeing EOF at once.
//
// In RunShim's sequence (shim.cc): Prepare (before the clone: the pipes, the file, the console socket
// pair; a failure is the create's (errno, step, message)) -> a StdioSwap around the clone (PID 1
// inherits the pipes as fds 0, 1 and 2) -> Started (the shim drops the container's ends: the pipe's
// EOF is the container's) -> "ready" -> TakeTerminal (the master PID 1 sent) -> Wait (relays until
// PID 1 is reaped, then drains what it left) -> state.json "stopped".
//
// The relay never stalls the container for longer than a write to the disk takes: the pipe (64 KiB),
// or the pty's buffer, is the only buffer, and a write that fails (ENOSPC, EDQUOT, EIO, EFBIG) drops
// its bytes and the relay reads on.
//
// Raw (no tsswarm.log.format): bytes are kept as they came, stdout and stderr in one pipe, so in the
// order they were written (a terminal's line discipline has already made its line ends \r\n).
//
// Framed (tsswarm.log.format "cri", with a path: rotated, or one file without max-size, which the
// shim relays too): without a terminal the container's fd 1 and fd 2 are two pipes, relayed each
// with its own held line (LineFramer, in LogRelay::Deliver in front of RotatingFile::Write). Every
// record is one line, the format of CRI's container logs (what `tsswarm service logs` reads):
//
//   <time> <stream> <tag> <content>\n
//   2026-12-03T08:03:40.123456789Z stdout F hello
//
//   time     UTC, RFC3339 with 9 fraction digits: CLOCK_REALTIME when the shim read the bytes that
//            completed the record (a held line's last piece; at the stream's end, the time of the end)
//   stream   stdout or stderr; with a terminal always stdout (the pty is one stream)
//   tag      F: a whole line, or the last piece of one; P: a piece of a longer line, more follows
//   content  the line's bytes without its \n (any other byte as it came: a terminal's \r stays)
//
// A line longer than 16384 bytes is P records of 16384 bytes and a final F with the rest (1 to 16384
// bytes: a P is written only once a byte past it has come). With a max-size too small for a record
// of 16384 (under 16425 bytes) the pieces are max-size - 41 bytes (at least 1) instead, so that a
// record fits in one file: at least 42 bytes, or RotatingFile cuts it. A line without its \n is held (at most 16384 bytes of it) until the \n comes,
// and written as F when its stream ends: EOF, or the final drain after PID 1 is reaped. Records go
// to RotatingFile::Write whole, which rotates only at a line end: no record is split across files.
// Records of different streams are written in the order they were read; within a stream, in order.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "fd.h"
#include "oci-config.h"

namespace tsswarm {

// How the container's stdio is made, beside where its output goes (LogConfig).
struct StdioPlan {
  bool terminal = false;   // process.terminal and the shim keeps the pty (no console socket)
  bool openStdin = false;  // annotation tsswarm.stdin "open", and no terminal
};

// The plan for cfg: terminal when ownsTerminal (the caller gave no console socket and is not waiting
// in the foreground), the stdin annotation read and checked. 0, or EINVAL with a message naming it.
int PlanStdio(const OciConfig& cfg, bool ownsTerminal, StdioPlan& plan, std::string& message);

// A log file that rotates before a write would take it past maxSize.
class RotatingFile {
 public:
  RotatingFile(std::string path, uint64_t maxSize, uint32_t maxFiles)
      : path_(std::move(path)), maxSize_(maxSize), maxFiles_(maxFiles) {}
  // An open file, appended to without limit and never rotated (the caller's plain log file).
  explicit RotatingFile(Fd fd) : maxSize_(UINT64_MAX), maxFiles_(1), fd_(std::move(fd)) {}

  // Opens (creates) the current file, appending. 0 or errno.
  int Open();
  // Appends all of data, rotating where it must: after the last line end that fits, or, where no
  // whole line can be kept together, at maxSize exactly. What cannot be written is dropped.
  void Write(const char* data, size_t n);

 private:
  int OpenFile(int extraFlags);
  void Rotate();
  void Append(const char* data, size_t n);
  std::string Name(uint32_t generation) const;

  std::string path_;
  uint64_t maxSize_;
  uint32_t maxFiles_;
  Fd fd_;
  uint64_t size_ = 0;
  bool atLineStart_ = true;  // the last byte written ended a line
};

// One stream's bytes as CRI log records (the format above) into a file.
class LineFramer {
 public:
  // stream: "stdout" or "stderr". maxContent: the longest piece one record holds.
  LineFramer(RotatingFile* file, const char* stream, size_t maxContent);
  // The bytes of one read, at time (kTimeLength characters): the lines they end, and the pieces of a
  // long one, as records; the rest is held.
  void Feed(const char* data, size_t n, const char* time);
  // The stream has ended: the held line, if any, as an F record.
  void End(const char* time);

  // The length of a record's time field, and of everything around the content ("<time> stdout F " and "\n").
  static constexpr size_t kTimeLength = 30;
  static constexpr size_t kOverhead = kTimeLength + 1 + 6 + 1 + 1 + 1 + 1;
  // Docker's and CRI's longest piece.
  static constexpr size_t kMaxContent = 16384;

 private:
  // held_ and then data[0, n) as one record, appended to out_; held_ is emptied.
  void Record(char tag, const char* data, size_t n, const char* time);
  void Flush();

  RotatingFile* file_;
  const char* stream_;
  size_t maxContent_;
  std::string held_;  // the line begun and not yet written (at most maxContent_ bytes)
  std::string out_;   // records of this read, written together (each ends with \n, so stays whole)
};

// The current time (CLOCK_REALTIME) as a record's time field: out receives kTimeLength characters and a NUL.
void FormatLogTime(char (&out)[LineFramer::kTimeLength + 1]);

class LogRelay {
 public:
  // Before the clone. 0, or errno with the failed step ("log pipe", "open log", "stdin pipe",
  // "console") and a message.
  int Prepare(const LogConfig& cfg, const StdioPlan& plan, std::string& step, std::string& message);
  // What the container's stdout and stderr are to be; -1: the shim's own (until a terminal replaces
  // them). The same fd unless framed without a terminal.
  int stdoutFd() const;
  int stderrFd() const;
  // What the container's stdin is to be; -1: the shim's own.
  int stdinFd() const;
  // PID 1's end of the socket pair the pty master comes back on (InitContext::consoleSocket); -1: no terminal.
  int consoleFd() const;
  // After the clone.
  void Started();
  // After "ready": takes the pty master PID 1 sent (nothing to do without a terminal). 0, or errno
  // with the step ("console") and a message.
  int TakeTerminal(std::string& step, std::string& message);
  // Waits for PID 1 (reaps it into status) while relaying, then drains what is left in the pipe or
  // the pty, and lets go of stdin. 0, or waitpid's errno.
  int Wait(pid_t pid, int& status);

 private:
  enum class Read { kData, kEmpty, kEnd };
  // What the relay reads: the pipe (stdout and stderr in one, or stdout alone when framed), the
  // stderr pipe (framed), or the pty master.
  struct Source {
    Fd fd;
    std::unique_ptr<LineFramer> framer;  // null: raw
    bool open = false;                   // not yet at its EOF
  };
  // One read of src into the file; got: its bytes. At its end, src's held line is written.
  Read ReadOnce(Source& src, size_t& got);
  void Deliver(Source& src, const char* data, size_t n);
  // Makes sources_[i] read fd, framed as stream when the log is.
  void AddSource(int i, Fd fd, const char* stream);

  Fd devNull_;
  Fd outWrite_, errWrite_;         // the container's ends of the pipes until Started
  Fd stdinRead_, stdinWrite_;      // openStdin: the container's stdin, and the end the shim holds
  Fd consoleShim_, consoleChild_;  // terminal: the socket pair the master comes back on
  Fd ptySlave_;                    // terminal: the shim's own slave fd, so the master never reads EIO
  bool terminal_ = false;
  bool framed_ = false;
  size_t maxContent_ = LineFramer::kMaxContent;
  std::unique_ptr<RotatingFile> file_;  // null: what is read is dropped (none with a terminal)
  std::unique_ptr<char[]> buf_;
  Source sources_[2];
};

// Makes in, out and err the shim's own fds 0, 1 and 2 while it lives, so that a clone() made
// meanwhile inherits them as the container's stdin, stdout and stderr; then puts the shim's own back
// (or closes those that were closed). -1: leaves that one alone. Keeps errno, so it can wrap the
// clone call whose errno matters.
class StdioSwap {
 public:
  StdioSwap(int in, int out, int err);
  ~StdioSwap();
  StdioSwap(const StdioSwap&) = delete;
  StdioSwap& operator=(const StdioSwap&) = delete;

 private:
  bool active_[3] = {false, false, false};
  Fd saved_[3];
};

}  // namespace tsswarm
