/** The names stack files use for a container's rlimits, sysctls and signals, and which are valid. */

/** compose `ulimits` keys; the runtime spec's type is `RLIMIT_` + the upper-cased name. */
export const ULIMIT_NAMES: readonly string[] = [
  'as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio',
  'rttime', 'sigpending', 'stack',
];

/**
 * Sysctls a container may set: only those the kernel keeps per namespace (network, IPC), as Docker
 * allows them. Anything else would change the host.
 */
export function isNamespacedSysctl(key: string): boolean {
  if (!/^[a-z0-9_]+(\.[a-zA-Z0-9_*-]+)+$/.test(key)) return false;
  return (
    key.startsWith('net.') ||
    key.startsWith('fs.mqueue.') ||
    key === 'kernel.sem' ||
    key.startsWith('kernel.shm') ||
    key.startsWith('kernel.msg')
  );
}

/** Linux signal numbers on x86_64 and arm64 (the same there). */
const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19,
  SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};

/** `SIGTERM`, `TERM`, `term` or `15` → `SIGTERM`; `SIGRTMIN+3` style real-time signals as `SIGRTMIN+N`; null when unknown. */
export function signalName(text: string): string | null {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === n);
    return name ?? (n >= 34 && n <= 64 ? `SIGRTMIN+${n - 34}` : null);
  }
  const full = t.startsWith('SIG') ? t : `SIG${t}`;
  if (full in SIGNALS) return full;
  const rt = /^SIGRTMIN\+(\d+)$/.exec(full);
  return rt !== null && Number(rt[1]) <= 30 ? full : null;
}
