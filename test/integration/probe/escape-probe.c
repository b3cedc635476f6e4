// One attempt to reach past a container, named by argv[1], for test/integration/confinement.test.ts.
// Prints exactly one line, `LABEL ok[ details]` or `LABEL errno=E...`, where LABEL is the test name,
// followed by `:ARG` when the test takes an argument (`read:/proc/keys`), so the test can tell
// which step failed and why without parsing a shell's wording of an error. Exits 0 either way:
// the refusal is the expected outcome, not a failure of the probe.
//
// Built static (`gcc -static -O2`) so that it runs in a busybox image with no libc of its own.
// Nothing here is allowed to harm the host when the attempt *succeeds* (the tests also run it in
// privileged controls): writes put back what was read, swapon names a path that does not exist,
// kexec_load passes flags the kernel rejects, sysrq-trigger is opened but never written.

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char label[512];

static int report_errno(int err) {
  const char* name = strerrorname_np(err);
  if (name != NULL) printf("%s errno=%s\n", label, name);
  else printf("%s errno=%d\n", label, err);
  return 0;
}

// The result of one syscall: `ok` for rc >= 0, else errno.
static int report(long rc) {
  if (rc < 0) return report_errno(errno);
  printf("%s ok\n", label);
  return 0;
}

static int need(int argc, int n) {
  if (argc < n) {
    fprintf(stdout, "%s usage: missing argument\n", label);
    exit(2);
  }
  return 0;
}

// Reads a whole file; -1 with errno on failure.
static long read_all(const char* path, char* buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t used = 0;
  for (;;) {
    char scratch[4096];
    char* dst = used < cap ? buf + used : scratch;
    size_t room = used < cap ? cap - used : sizeof scratch;
    ssize_t n = read(fd, dst, room);
    if (n < 0) {
      int err = errno;
      close(fd);
      errno = err;
      return -1;
    }
    if (n == 0) break;
    used += (size_t)n;
  }
  close(fd);
  return (long)used;
}

// Reads `path` and writes the same bytes back: refused at open by a read-only mount, and harmless
// if it is not.
static int rewrite(const char* path) {
  char buf[4096];
  long n = read_all(path, buf, sizeof buf);
  if (n < 0) return report_errno(errno);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return report_errno(errno);
  long rc = write(fd, buf, (size_t)n);
  int err = errno;
  close(fd);
  errno = err;
  return report(rc);
}

static int write_value(const char* path, const char* value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return report_errno(errno);
  long rc = write(fd, value, strlen(value));
  int err = errno;
  close(fd);
  errno = err;
  return report(rc);
}

static int open_only(const char* path, int flags) {
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0) return report_errno(errno);
  close(fd);
  return report(0);
}

static int read_file(const char* path) {
  static char buf[1 << 20];
  long n = read_all(path, buf, sizeof buf);
  if (n < 0) return report_errno(errno);
  printf("%s ok bytes=%ld\n", label, n);
  return 0;
}

static int stat_file(const char* path) {
  struct stat st;
  if (lstat(path, &st) < 0) return report_errno(errno);
  char type = S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISLNK(st.st_mode) ? 'l' : '?';
  printf("%s ok type=%c rdev=%u:%u\n", label, type, major(st.st_rdev), minor(st.st_rdev));
  return 0;
}

static int list_dir(const char* path) {
  DIR* d = opendir(path);
  if (d == NULL) return report_errno(errno);
  int n = 0;
  for (struct dirent* e; (e = readdir(d)) != NULL;)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  closedir(d);
  printf("%s ok entries=%d\n", label, n);
  return 0;
}

static int mknod_node(const char* path, const char* type, const char* maj, const char* min) {
  mode_t kind = strcmp(type, "b") == 0 ? S_IFBLK : S_IFCHR;
  unlink(path);
  return report(mknod(path, kind | 0600, makedev(strtoul(maj, NULL, 10), strtoul(min, NULL, 10))));
}

static int mount_tmpfs(const char* path) {
  if (mkdir(path, 0755) < 0 && errno != EEXIST) return report_errno(errno);
  return report(mount("none", path, "tmpfs", 0, "size=16k"));
}

// A child that sleeps until killed, optionally as another user (it drops to `uid` before pausing).
static pid_t sleeper(uid_t uid) {
  int ready[2];
  if (pipe(ready) < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    if (uid != 0 && (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)) _exit(1);
    if (write(ready[1], "x", 1) != 1) _exit(1);
    for (;;) pause();
  }
  close(ready[1]);
  char c;
  ssize_t n = read(ready[0], &c, 1);
  close(ready[0]);
  if (pid > 0 && n != 1) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    errno = ECHILD;
    return -1;
  }
  return pid;
}

static int ptrace_attach(pid_t pid) {
  long rc = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
  int err = errno;
  if (rc == 0) {
    waitpid(pid, NULL, __WALL);
    ptrace(PTRACE_DETACH, pid, NULL, NULL);
  }
  errno = err;
  return report(rc);
}

static int ptrace_sleeper(uid_t uid) {
  pid_t pid = sleeper(uid);
  if (pid < 0) return report_errno(errno);
  ptrace_attach(pid);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return 0;
}

static int bpf_map(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  if (fd >= 0) close((int)fd);
  return report(fd);
}

// clone() straight into a new mount namespace; the child exits at once.
static int clone_newns(void) {
  long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  int err = errno;
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  errno = err;
  return report(pid);
}

// The "shocker" route: a file handle opened without a path. The handle is for `path` itself, so
// success only proves the syscall got through, never reaches anything new.
static int open_by_handle(const char* path) {
  struct file_handle* fh = malloc(sizeof *fh + MAX_HANDLE_SZ);
  fh->handle_bytes = MAX_HANDLE_SZ;
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, path, fh, &mount_id, 0) < 0) return report_errno(errno);
  int mfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mfd < 0) return report_errno(errno);
  int fd = open_by_handle_at(mfd, fh, O_RDONLY | O_CLOEXEC);
  int err = errno;
  close(mfd);
  if (fd >= 0) close(fd);
  errno = err;
  return report(fd);
}

// How many /proc/<pid>/environ it could read, and in how many `needle` occurs.
static int environ_scan(const char* needle) {
  DIR* d = opendir("/proc");
  if (d == NULL) return report_errno(errno);
  int readable = 0, found = 0;
  static char buf[1 << 16];
  for (struct dirent* e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
    long n = read_all(path, buf, sizeof buf - 1);
    if (n < 0) continue;
    readable++;
    for (long i = 0; i < n; i++)
      if (buf[i] == '\0') buf[i] = '\n';
    buf[n] = '\0';
    if (strstr(buf, needle) != NULL) found++;
  }
  closedir(d);
  printf("%s ok readable=%d found=%d\n", label, readable, found);
  return 0;
}

// This process's seccomp mode and effective capabilities, from /proc/self/status.
static int status(void) {
  static char buf[8192];
  long n = read_all("/proc/self/status", buf, sizeof buf - 1);
  if (n < 0) return report_errno(errno);
  buf[n] = '\0';
  char seccomp[32] = "?", capEff[32] = "?";
  for (char* line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    if (strncmp(line, "Seccomp:\t", 9) == 0) snprintf(seccomp, sizeof seccomp, "%s", line + 9);
    if (strncmp(line, "CapEff:\t", 8) == 0) snprintf(capEff, sizeof capEff, "%s", line + 8);
  }
  printf("%s ok Seccomp=%s CapEff=%s\n", label, seccomp, capEff);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: escape-probe TEST [ARGS]\n");
    return 2;
  }
  const char* t = argv[1];
  snprintf(label, sizeof label, "%s%s%s", t, argc > 2 ? ":" : "", argc > 2 ? argv[2] : "");
  if (strcmp(t, "rewrite") == 0) return need(argc, 3), rewrite(argv[2]);
  if (strcmp(t, "write") == 0) return need(argc, 4), write_value(argv[2], argv[3]);
  if (strcmp(t, "open-write") == 0) return need(argc, 3), open_only(argv[2], O_WRONLY);
  if (strcmp(t, "open-read") == 0) return need(argc, 3), open_only(argv[2], O_RDONLY);
  if (strcmp(t, "read") == 0) return need(argc, 3), read_file(argv[2]);
  if (strcmp(t, "stat") == 0) return need(argc, 3), stat_file(argv[2]);
  if (strcmp(t, "ls") == 0) return need(argc, 3), list_dir(argv[2]);
  if (strcmp(t, "mknod") == 0) return need(argc, 6), mknod_node(argv[2], argv[3], argv[4], argv[5]);
  if (strcmp(t, "mount-tmpfs") == 0) return need(argc, 3), mount_tmpfs(argv[2]);
  if (strcmp(t, "umount") == 0) return need(argc, 3), report(umount2(argv[2], 0));
  // A path that does not exist: a swapon that gets past its capability check fails with ENOENT.
  if (strcmp(t, "swapon") == 0) return need(argc, 3), report(swapon(argv[2], 0));
  // Flags outside KEXEC_FLAGS: a kexec_load that gets past its capability check fails with EINVAL
  // (ENOSYS on a kernel without kexec), before anything is loaded or unloaded.
  if (strcmp(t, "kexec-load") == 0) return report(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0x100UL));
  // An empty image: rejected (or ENOSYS without module support) if the call gets through.
  if (strcmp(t, "init-module") == 0) return report(syscall(SYS_init_module, NULL, 0UL, ""));
  if (strcmp(t, "finit-module") == 0) return report(syscall(SYS_finit_module, -1, "", 0));
  if (strcmp(t, "ptrace-child") == 0) return ptrace_sleeper(0);
  if (strcmp(t, "ptrace-other-user") == 0) return ptrace_sleeper(65534);
  if (strcmp(t, "ptrace-pid") == 0) return need(argc, 3), ptrace_attach((pid_t)atoi(argv[2]));
  if (strcmp(t, "keyctl") == 0) return report(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
  if (strcmp(t, "bpf-map") == 0) return bpf_map();
  if (strcmp(t, "unshare-user") == 0) return report(unshare(CLONE_NEWUSER));
  if (strcmp(t, "unshare-ns") == 0) return report(unshare(CLONE_NEWNS));
  if (strcmp(t, "clone-newns") == 0) return clone_newns();
  if (strcmp(t, "open-by-handle") == 0) return need(argc, 3), open_by_handle(argv[2]);
  if (strcmp(t, "environ-scan") == 0) return need(argc, 3), environ_scan(argv[2]);
  if (strcmp(t, "status") == 0) return status();
  printf("%s unknown test\n", label);
  return 2;
}
