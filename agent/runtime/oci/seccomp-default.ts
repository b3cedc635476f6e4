/**
 * The seccomp profile a container gets unless its service names another: Docker's default
 * (moby profiles/seccomp, as shipped in Docker 24.0), kept here as data in our own shape so that
 * `docker run` and tsswarm confine an image the same way. Equivalent in effect to Docker's: the same
 * syscalls allowed for the same capabilities, architectures and kernels, the same argument filters.
 *
 * Everything not listed fails with EPERM, the error a program already handles for "not permitted",
 * rather than killing it: probing for a syscall must not be fatal.
 *
 * Names that do not exist on the host's architecture (the `*32` and `*_time64` variants on x86_64,
 * `socketcall` on arm64) are skipped by the runtime; one list serves every architecture, and the
 * 32-bit variants are needed anyway for the 32-bit sub-architectures (x86 on x86_64, arm on arm64).
 */
import type {
  SeccompArg,
  SeccompNativeArch,
  SeccompProfile,
  SeccompRule,
} from '../../../shared/seccomp-profile';

/** Splits a whitespace-separated list; the groups below read better as text than as quoted arrays. */
function names(text: string): readonly string[] {
  return text.split(/\s+/).filter((n) => n !== '');
}

const EPERM = 1;
const ENOSYS = 38;

/**
 * Allowed for every container: what ordinary programs need, none of it able to reach past the
 * container. adjtimex and clock_adjtime are here because without CAP_SYS_TIME they can only read the
 * clock; the kernel checks the capability before any change.
 */
const UNCONDITIONAL = names(`
  access faccessat faccessat2 chdir fchdir getcwd umask
  open openat openat2 creat close close_range dup dup2 dup3 fcntl fcntl64 flock
  read readv pread64 preadv preadv2 readahead write writev pwrite64 pwritev pwritev2
  lseek _llseek sendfile sendfile64 splice tee vmsplice copy_file_range
  stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx statfs statfs64 fstatfs fstatfs64
  getdents getdents64 readlink readlinkat
  mkdir mkdirat mknod mknodat rmdir link linkat symlink symlinkat unlink unlinkat rename renameat renameat2
  chmod fchmod fchmodat chown chown32 fchown fchown32 fchownat lchown lchown32
  truncate truncate64 ftruncate ftruncate64 fallocate fadvise64 fadvise64_64
  sync syncfs fsync fdatasync sync_file_range
  utime utimes utimensat utimensat_time64 futimesat
  getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr flistxattr
  removexattr lremovexattr fremovexattr
  name_to_handle_at

  poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64
  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2
  eventfd eventfd2 signalfd signalfd4 inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark
  timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64
  ioctl io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64
  io_uring_setup io_uring_enter io_uring_register ioprio_get ioprio_set

  brk mmap mmap2 munmap mremap mprotect madvise mincore msync remap_file_pages
  mlock mlock2 mlockall munlock munlockall membarrier memfd_create memfd_secret
  pkey_alloc pkey_free pkey_mprotect

  fork vfork execve execveat exit exit_group wait4 waitid waitpid restart_syscall
  getpid getppid gettid getpgid setpgid getpgrp getsid setsid
  getpriority setpriority getrlimit setrlimit ugetrlimit prlimit64 getrusage times sysinfo uname getcpu getrandom
  prctl seccomp capget capset rseq set_tid_address get_robust_list set_robust_list get_thread_area set_thread_area
  sched_yield sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam sched_setparam
  sched_getscheduler sched_setscheduler sched_get_priority_max sched_get_priority_min
  sched_rr_get_interval sched_rr_get_interval_time64
  pidfd_open pidfd_send_signal process_mrelease kill tkill tgkill
  landlock_create_ruleset landlock_add_rule landlock_restrict_self

  getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getgroups getgroups32
  getresuid getresuid32 getresgid getresgid32
  setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32 setresuid setresuid32
  setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32 setgroups setgroups32

  rt_sigaction rt_sigprocmask rt_sigpending rt_sigsuspend rt_sigreturn rt_sigqueueinfo rt_tgsigqueueinfo
  rt_sigtimedwait rt_sigtimedwait_time64 sigaltstack sigprocmask sigreturn pause alarm

  time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64
  clock_nanosleep clock_nanosleep_time64 nanosleep getitimer setitimer
  timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
  adjtimex clock_adjtime clock_adjtime64
  futex futex_time64 futex_waitv

  pipe pipe2 ipc msgget msgctl msgsnd msgrcv semget semctl semop semtimedop semtimedop_time64
  shmget shmctl shmat shmdt
  mq_open mq_unlink mq_notify mq_getsetattr mq_timedsend mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64

  socketpair socketcall bind listen accept accept4 connect shutdown getsockname getpeername
  getsockopt setsockopt send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64
`);

/** Linux 4.8 made seccomp re-check syscalls a tracer rewrites; before it, ptrace walked around the filter. */
const SAFE_FROM_KERNEL_4_8 = names('ptrace process_vm_readv process_vm_writev');

/** Syscalls that only make sense, or only exist, on some architectures (libseccomp's short arch names). */
const ARCH_SPECIFIC: readonly (readonly [readonly SeccompNativeArch[], readonly string[]])[] = [
  [['amd64', 'x32'], names('arch_prctl')],
  [['amd64', 'x32', 'x86'], names('modify_ldt')],
  [['arm', 'arm64'], names('arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls')],
  [['ppc64le'], names('sync_file_range2 swapcontext')],
  [['s390', 's390x'], names('s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr')],
  [['riscv64'], names('riscv_flush_icache')],
];

/**
 * Syscalls allowed only to a container holding the capability that the kernel would check anyway:
 * the filter adds a second wall in case the kernel's check has a hole.
 */
const CAPABILITY_GATED: readonly (readonly [string, readonly string[]])[] = [
  ['CAP_DAC_READ_SEARCH', names('open_by_handle_at')],
  [
    'CAP_SYS_ADMIN',
    names(`
      mount umount umount2 mount_setattr move_mount open_tree fsopen fsconfig fsmount fspick
      unshare setns clone clone3 sethostname setdomainname
      bpf perf_event_open fanotify_init lookup_dcookie quotactl quotactl_fd syslog
    `),
  ],
  ['CAP_SYS_BOOT', names('reboot')],
  ['CAP_SYS_CHROOT', names('chroot')],
  ['CAP_SYS_MODULE', names('init_module finit_module delete_module')],
  ['CAP_SYS_PACCT', names('acct')],
  ['CAP_SYS_PTRACE', names('ptrace process_vm_readv process_vm_writev process_madvise pidfd_getfd kcmp')],
  ['CAP_SYS_RAWIO', names('iopl ioperm')],
  ['CAP_SYS_TIME', names('settimeofday stime clock_settime clock_settime64')],
  ['CAP_SYS_TTY_CONFIG', names('vhangup')],
  ['CAP_SYS_NICE', names('mbind get_mempolicy set_mempolicy')],
  ['CAP_SYSLOG', names('syslog')],
  ['CAP_BPF', names('bpf')],
  ['CAP_PERFMON', names('perf_event_open')],
];

const AF_VSOCK = 40;

/**
 * personality(2) values a container may set: Linux (0), 32-bit Linux (PER_LINUX32, 0x8), a
 * 2.6-style uname (UNAME26, 0x20000), both, and 0xffffffff, which only asks for the current one.
 * Anything else can turn off address-space randomisation or other protections.
 */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** clone(2) flags that create namespaces; without CAP_SYS_ADMIN clone is allowed only with all of them clear. */
const CLONE_NAMESPACE_FLAGS =
  0x00020000 | // CLONE_NEWNS
  0x02000000 | // CLONE_NEWCGROUP
  0x04000000 | // CLONE_NEWUTS
  0x08000000 | // CLONE_NEWIPC
  0x10000000 | // CLONE_NEWUSER
  0x20000000 | // CLONE_NEWPID
  0x40000000; // CLONE_NEWNET

const S390: readonly SeccompNativeArch[] = ['s390', 's390x'];

type RuleConditions = Pick<SeccompRule, 'args' | 'includes' | 'excludes'>;

function allow(syscalls: readonly string[], extra: RuleConditions = {}): SeccompRule {
  return { names: syscalls, action: 'SCMP_ACT_ALLOW', ...extra };
}

/** Allowed with a clear mask of namespace flags in the argument at `index`. */
function cloneWithoutNamespaces(index: number): SeccompArg {
  return { index, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' };
}

export const DEFAULT_SECCOMP_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: EPERM,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    { architecture: 'SCMP_ARCH_MIPS64', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'] },
    { architecture: 'SCMP_ARCH_MIPS64N32', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'] },
    { architecture: 'SCMP_ARCH_MIPSEL64', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'] },
    { architecture: 'SCMP_ARCH_MIPSEL64N32', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'] },
    { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
    { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: [] },
  ],
  syscalls: [
    allow(UNCONDITIONAL),
    allow(SAFE_FROM_KERNEL_4_8, { includes: { minKernel: '4.8' } }),
    // vsock reaches the host or hypervisor directly, past the container's network namespace.
    allow(names('socket'), { args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] }),
    ...PERSONALITIES.map((p) => allow(names('personality'), { args: [{ index: 0, value: p, op: 'SCMP_CMP_EQ' }] })),
    ...ARCH_SPECIFIC.map(([arches, syscalls]) => allow(syscalls, { includes: { arches } })),
    ...CAPABILITY_GATED.map(([cap, syscalls]) => allow(syscalls, { includes: { caps: [cap] } })),
    // s390 passes clone's flags second (its clone takes the stack pointer first).
    allow(names('clone'), {
      args: [cloneWithoutNamespaces(0)],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: S390 },
    }),
    allow(names('clone'), {
      args: [cloneWithoutNamespaces(1)],
      includes: { arches: S390 },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    // clone3 takes its flags in a struct the filter cannot read; ENOSYS makes libc fall back to clone,
    // whose flags it can.
    { names: names('clone3'), action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
  ],
};
