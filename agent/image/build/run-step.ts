/**
 * A RUN step: the command in a container of the project's own runtime (agent/runtime), on the
 * layers built so far, with Docker's default confinement (capabilities, seccomp) and the build's
 * network (the host's, as `docker build --network host`, or none). Its output goes to the user as
 * it comes; its upper directory is the step's change, made into a layer by the caller.
 *
 * /etc/resolv.conf, /etc/hosts and /etc/hostname are written for the step only (Docker
 * bind-mounts them) and never become part of the layer.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultRuntimeSettings } from '../../../shared/types';
import type { Runtime } from '../../runtime';
import { containerPaths } from '../../runtime/rootfs';

/** Paths (relative to the rootfs) that a step's layer never takes. */
export const STEP_ONLY_FILES = ['etc/resolv.conf', 'etc/hosts', 'etc/hostname'];

export interface RunStep {
  /** Unpacked layers, top first; never empty (an empty directory for FROM scratch). */
  lowerDirs: string[];
  args: string[];
  env: string[];
  cwd: string;
  user: string | null;
  network: 'host' | 'none';
  /** Where the step's output goes, as it comes. */
  output: (chunk: Buffer) => void;
  signal: AbortSignal;
}

export interface RunResult {
  exitCode: number;
  signal: string | null;
  /** The step's upper directory (the caller makes it a layer, then calls done()). */
  upper: string;
  /** Removes the container and whatever of its directories the caller left. */
  done: () => Promise<void>;
}

const HOSTNAME = 'tsswarm-build';

export async function runStep(runtime: Runtime, runtimeRoot: string, step: RunStep): Promise<RunResult> {
  const id = `build-${randomBytes(8).toString('hex')}`;
  const logPath = join(runtimeRoot, `${id}.log`);
  const hostResolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const done = () => runtime.remove(id).catch(() => undefined);
  try {
    await runtime.run({
      id,
      lowerDirs: step.lowerDirs,
      args: step.args,
      env: step.env,
      cwd: step.cwd,
      user: step.user,
      hostname: HOSTNAME,
      limits: { memoryBytes: null, nanoCpus: null, pids: null },
      logPath,
      log: { kind: 'file' },
      tty: false,
      openStdin: false,
      netns: step.network === 'host' ? `/proc/${process.pid}/ns/net` : null,
      files: [
        { path: '/etc/resolv.conf', content: step.network === 'host' ? hostResolv : '' },
        { path: '/etc/hosts', content: `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${HOSTNAME}\n` },
        { path: '/etc/hostname', content: `${HOSTNAME}\n` },
      ],
      runtime: defaultRuntimeSettings(),
      mounts: [],
    });
  } catch (e) {
    await done();
    throw e;
  }
  const onAbort = () => void runtime.kill(id, 'SIGKILL').catch(() => undefined);
  step.signal.addEventListener('abort', onAbort, { once: true });
  let offset = 0;
  const drain = async () => {
    const f = await open(logPath, 'r').catch(() => null);
    if (!f) return;
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await f.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        step.output(Buffer.from(buf.subarray(0, bytesRead)));
      }
    } finally {
      await f.close();
    }
  };
  try {
    const tail = setInterval(() => void drain(), 100);
    let exit;
    try {
      exit = await runtime.wait(id, step.signal);
    } finally {
      clearInterval(tail);
    }
    await drain();
    return { exitCode: exit.exitCode, signal: exit.signal, upper: containerPaths(runtimeRoot, id).upper, done };
  } catch (e) {
    await done();
    throw e;
  } finally {
    step.signal.removeEventListener('abort', onAbort);
  }
}
