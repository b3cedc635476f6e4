/**
 * A one-host test cluster in a temporary data root with its own cgroup
 * parent: `tsswarm init` through the real CLI, and teardown that checks
 * nothing is left behind (`down --purge`, then processes, mounts, cgroups).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { cgroupDirs, mountsMentioning, processesMentioning, removeLeftovers } from './leftovers';

export const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
const cliPath = path.join(repoRoot, 'dist', 'cli', 'main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestCluster {
  readonly dataRoot: string;
  readonly cgroupParent: string;
  readonly socket: string;

  constructor(readonly name = 'tsswarm-test') {
    const tag = randomBytes(4).toString('hex');
    this.dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
    this.cgroupParent = `${name}-${tag}`;
    this.socket = path.join(this.dataRoot, 'api.sock');
  }

  cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
    const r = spawnSync(process.execPath, [cliPath, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, TSSWARM_HOST: this.socket, ...opts.env },
      encoding: 'utf8',
      timeout: 180000,
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Runs a CLI command that must succeed and returns its stdout. */
  ok(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): string {
    const r = this.cli(args, opts);
    if (r.code !== 0) throw new Error(`tsswarm ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  json<T>(args: string[]): T {
    return JSON.parse(this.ok([...args, '--format', 'json'])) as T;
  }

  init(): void {
    this.ok(['init', '--data-root', this.dataRoot, '--advertise-addr', '127.0.0.1', '--cgroup-parent', this.cgroupParent, '--hostname', 'testhost']);
  }

  importBusybox(ref = 'busybox:latest'): void {
    this.ok(['image', 'import', makeBusyboxImage(this.dataRoot), ref]);
  }

  /** PIDs whose command line names the test's directory. */
  processes(): number[] {
    return processesMentioning(this.dataRoot);
  }

  mounts(): string[] {
    return mountsMentioning(this.dataRoot);
  }

  cgroupDirs(): string[] {
    return cgroupDirs(this.cgroupParent);
  }

  /** Stops everything; kills leftovers by PID and unmounts, so a failed test leaves nothing behind. */
  destroy(): void {
    this.cli(['down', '--data-root', this.dataRoot]);
    removeLeftovers(this.dataRoot, [this.cgroupParent]);
    fs.rmSync(this.dataRoot, { recursive: true, force: true });
  }
}

/** Builds the busybox test image (scripts/make-busybox-image.sh) as `dir`/busybox.tar and returns its path. */
export function makeBusyboxImage(dir: string): string {
  const tar = path.join(dir, 'busybox.tar');
  const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'make-busybox-image.sh'), tar], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make-busybox-image failed: ${r.stderr}`);
  return tar;
}

export async function eventually<T>(what: string, f: () => T | null | undefined | false, timeoutMs = 60000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
