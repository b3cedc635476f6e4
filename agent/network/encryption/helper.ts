/**
 * The agent's side of tsswarm-esp (native/src/esp-main.cc), the process that seals and opens the
 * ESP packets. One per agent, started detached so that it outlives the agent: an agent restart
 * (or upgrade) does not stop encrypted traffic, and the new agent finds it on its socket and gives
 * it the same SAs again, which it keeps as they are. Keys go over that socket (0600, in a 0700
 * directory), never on a command line.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { TsswarmError } from '../../../shared/errors';

export class EspHelperError extends TsswarmError {
  readonly code = 'ESP_HELPER';
  override readonly status = 500;
}

export interface EspHelperOptions {
  /** The tsswarm-esp executable. */
  bin: string;
  /** Its socket, pid file and log live here. */
  dir: string;
  tun: string;
  /** This host's underlay address: ESP leaves from it. */
  local: string;
}

const START_TIMEOUT_MS = 3000;
const REPLY_TIMEOUT_MS = 5000;

export type EspStats = Record<string, number>;

export class EspHelper {
  private sock: Socket | null = null;
  private buf = '';
  private waiter: { resolve: (line: string) => void; reject: (e: Error) => void } | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  /** Told when the connection to a helper that was up is lost (it died, or was stopped). */
  onLost: (() => void) | null = null;

  constructor(private readonly o: EspHelperOptions) {}

  get socketPath(): string {
    return join(this.o.dir, 'helper.sock');
  }

  get pidFile(): string {
    return join(this.o.dir, 'helper.pid');
  }

  get logFile(): string {
    return join(this.o.dir, 'helper.log');
  }

  get connected(): boolean {
    return this.sock !== null;
  }

  /**
   * Connected to this agent's helper: the running one if it serves this device and address, else
   * a new one. Returns whether it had to connect (a helper seen for the first time, or again after
   * it was lost): then it holds whatever SAs it held, and the caller gives it the full set.
   */
  ensure(): Promise<boolean> {
    return this.serial(async () => {
      if (this.sock !== null) return false;
      if (await this.tryConnect()) {
        const info = await this.requestNow(['info']);
        if (info.includes(` local=${this.o.local} `) && info.includes(` tun=${this.o.tun} `)) return true;
        // Left by a run with another underlay address: its ESP would leave from the wrong one.
        await this.exitNow();
      }
      await this.start();
      return true;
    });
  }

  /** Replaces the helper's SAs with these lines (`out|in PEER SPI KEY`), all at once. */
  commit(lines: readonly string[]): Promise<void> {
    return this.serial(async () => {
      if (this.sock === null) throw new EspHelperError('the ESP helper is not connected');
      const reply = await this.requestNow(['begin', ...lines, 'commit']);
      if (!reply.startsWith('ok')) throw new EspHelperError(`ESP helper refused the SAs: ${reply}`);
    });
  }

  /** The helper's packet counters (tx, tx_nosa, rx, rx_auth, ...). */
  stats(): Promise<EspStats> {
    return this.serial(async () => {
      if (this.sock === null) throw new EspHelperError('the ESP helper is not connected');
      return parseStats(await this.requestNow(['stats']));
    });
  }

  /** Ends the helper: over its socket, else by a signal to the PID in its pid file (if that is it). */
  stop(): Promise<void> {
    return this.serial(async () => {
      if (this.sock !== null || (await this.tryConnect())) {
        await this.exitNow();
        return;
      }
      const pid = this.recordedPid();
      if (pid !== null) await endProcess(pid);
    });
  }

  /** Drops the connection; the helper keeps running with the SAs it has. */
  disconnect(): void {
    const s = this.sock;
    this.sock = null;
    s?.destroy();
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.chain.then(f, f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async exitNow(): Promise<void> {
    const info = await this.requestNow(['info']).catch(() => '');
    const pid = Number(/ pid=(\d+)/.exec(info)?.[1] ?? NaN);
    await this.requestNow(['exit']).catch(() => '');
    this.disconnect();
    if (Number.isInteger(pid)) await endProcess(pid);
  }

  private async start(): Promise<void> {
    mkdirSync(this.o.dir, { recursive: true, mode: 0o700 });
    const log = openSync(this.logFile, 'a', 0o600);
    let child;
    try {
      child = spawn(this.o.bin, ['--tun', this.o.tun, '--local', this.o.local, '--socket', this.socketPath, '--pid-file', this.pidFile], {
        detached: true,
        stdio: ['ignore', log, log],
      });
    } finally {
      closeSync(log);
    }
    let exited: number | null = null;
    child.on('exit', (code) => (exited = code ?? -1));
    child.on('error', () => (exited = -1));
    child.unref();
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited !== null) throw new EspHelperError(`tsswarm-esp exited (${exited}): ${lastLine(this.logFile)}`);
      if (existsSync(this.socketPath) && (await this.tryConnect())) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new EspHelperError(`tsswarm-esp did not answer on ${this.socketPath} within ${START_TIMEOUT_MS} ms`);
  }

  private tryConnect(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = connect(this.socketPath);
      const fail = () => {
        s.destroy();
        resolve(false);
      };
      s.once('error', fail);
      s.once('connect', () => {
        s.off('error', fail);
        this.attach(s);
        resolve(true);
      });
    });
  }

  private attach(s: Socket): void {
    this.sock = s;
    this.buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      this.buf += d;
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiter;
        this.waiter = null;
        w?.resolve(line);
      }
    });
    const lost = () => {
      if (this.sock !== s) return;
      this.sock = null;
      this.waiter?.reject(new EspHelperError('the ESP helper closed its socket'));
      this.waiter = null;
      this.onLost?.();
    };
    s.on('error', lost);
    s.on('close', lost);
  }

  /** Sends lines that make exactly one answer, and waits for it. */
  private requestNow(lines: readonly string[]): Promise<string> {
    const s = this.sock;
    if (s === null) return Promise.reject(new EspHelperError('the ESP helper is not connected'));
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new EspHelperError(`no answer from the ESP helper to ${lines[0]}`));
      }, REPLY_TIMEOUT_MS);
      this.waiter = {
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      s.write(`${lines.join('\n')}\n`);
    });
  }

  /** The pid file's PID, if that process is still this helper (its command line names our socket). */
  private recordedPid(): number | null {
    try {
      const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 1) return null;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes(this.socketPath) ? pid : null;
    } catch {
      return null;
    }
  }
}

/** `stats tx=1 rx=2 ...` → { tx: 1, rx: 2, ... }. */
export function parseStats(line: string): EspStats {
  const out: EspStats = {};
  for (const m of line.matchAll(/(\w+)=(\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Waits for the process to go (it was asked to); SIGTERM, then SIGKILL, if it lingers. */
async function endProcess(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    // A zombie (exited, not yet reaped by its parent) is gone for our purpose.
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  for (const [signal, waitMs] of [[null, 1000], ['SIGTERM', 1000], ['SIGKILL', 1000]] as const) {
    if (signal !== null && alive()) process.kill(pid, signal);
    const until = Date.now() + waitMs;
    while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    if (!alive()) return;
  }
}

function lastLine(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').pop() ?? '';
  } catch {
    return '';
  }
}
