// Small string and file helpers shared by the runtime's files.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fd.h"

namespace tsswarm {

inline std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

inline std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); i++) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

inline bool WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

inline std::string ReadFd(int fd, size_t maxBytes) {
  std::string out;
  char buf[8192];
  while (out.size() < maxBytes) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Up to and including the first newline (or EOF): a one-line report whose writer may keep the pipe open.
inline std::string ReadLine(int fd, size_t maxBytes) {
  std::string out;
  char c;
  while (out.size() < maxBytes) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out += c;
    if (c == '\n') break;
  }
  return out;
}

// The whole file (up to maxBytes); found=false and err set when it cannot be opened.
inline std::string ReadSmallFile(const char* path, bool& found, int& err, size_t maxBytes = 1 << 20) {
  found = false;
  Fd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    err = errno;
    return "";
  }
  found = true;
  return ReadFd(fd.get(), maxBytes);
}

// Writes `value` to an existing file (a cgroup, /proc or /sys knob); 0 or errno.
inline int WriteFile(const std::string& path, const std::string& value, int flags = O_WRONLY) {
  Fd fd(open(path.c_str(), flags | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno;
  if (!WriteAll(fd.get(), value)) return errno == 0 ? EIO : errno;
  return 0;
}

inline std::string ErrnoText(int err) { return strerror(err); }

// Tabs and newlines would break one-line reports.
inline std::string OneLine(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n') c = ' ';
  return s;
}

inline std::string JsonEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char b[8];
          snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace tsswarm
