// The container's stdout and stderr, as its config says (LogConfig, oci-config.h):
//
//   no log annotations: nothing happens here. The container inherits the shim's stdout and stderr,
//     the file its caller opened (the agent's log file, O_APPEND): no pipe, no copy, no cost on the
//     start path.
//   driver none: /dev/null.
//   max-size: a pipe. The shim, the container's parent, which outlives the agent (it is not the
//     agent's child), reads it and appends to the file, rotating it so that at most max-file files
//     of at most max-size bytes each are kept: <path> (newest), <path>.1, ... <path>.<max-file - 1>.
//
// In RunShim's sequence (shim.cc): Prepare (before the clone: the pipe and the file, a failure is
// the create's (errno, step, message)) -> a StdioSwap around the clone (PID 1 inherits the pipe as
// fds 1 and 2) -> Started (the shim drops its write end: the pipe's EOF is the container's) -> Wait
// (relays until PID 1 is reaped, then drains what it left) -> state.json "stopped".
//
// The relay never stalls the container for longer than a write to the disk takes: the pipe (64 KiB)
// is the only buffer, and a write that fails (ENOSPC, EDQUOT, EIO, EFBIG) drops its bytes and the
// relay reads on. Bytes are kept as they came, with no framing; a per-line framer (timestamps for
// `service logs`) would sit in LogRelay::Deliver, in front of RotatingFile::Write.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "fd.h"
#include "oci-config.h"

namespace tsswarm {

// A log file that rotates before a write would take it past maxSize.
class RotatingFile {
 public:
  RotatingFile(std::string path, uint64_t maxSize, uint32_t maxFiles)
      : path_(std::move(path)), maxSize_(maxSize), maxFiles_(maxFiles) {}

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

class LogRelay {
 public:
  // Before the clone. 0, or errno with the failed step ("log pipe", "open log") and a message.
  int Prepare(const LogConfig& cfg, std::string& step, std::string& message);
  // What the container's stdout and stderr are to be; -1: the shim's own.
  int containerFd() const;
  // After the clone.
  void Started();
  // Waits for PID 1 (reaps it into status) while relaying, then drains what is left in the pipe.
  // 0, or waitpid's errno.
  int Wait(pid_t pid, int& status);

 private:
  enum class Read { kData, kEmpty, kEnd };
  // One read of the pipe into the file; got: its bytes.
  Read ReadOnce(size_t& got);
  void Deliver(const char* data, size_t n);

  Fd devNull_, readEnd_, writeEnd_;
  std::unique_ptr<RotatingFile> file_;
  std::unique_ptr<char[]> buf_;
};

// Makes fd the shim's own fds 1 and 2 while it lives, so that a clone() made meanwhile inherits it
// as the container's stdout and stderr; then puts the shim's own back (or closes 1 and 2 if they
// were closed). -1: does nothing. Keeps errno, so it can wrap the clone call whose errno matters.
class StdioSwap {
 public:
  explicit StdioSwap(int fd);
  ~StdioSwap();
  StdioSwap(const StdioSwap&) = delete;
  StdioSwap& operator=(const StdioSwap&) = delete;

 private:
  bool active_ = false;
  Fd saved_[2];
};

}  // namespace tsswarm
