/**
 * Three test "hosts" for the published-ports test: network namespaces `<tag>-h1..h3` under
 * /run/netns, each with a veth `u<n>` (10.213.0.<n>/24) whose other end sits on a bridge in a
 * fourth namespace `<tag>-sw` (the test's switch: nothing is added to the machine's own namespace).
 * A HostNetwork runs in a helper process inside a host namespace (this file, run with its options
 * as argument): JSON lines in, JSON lines out, closes the HostNetwork and exits when stdin closes.
 *
 * Loaded without arguments (`node --test` loads every file under test/) it does nothing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { HostNetwork } from '../../../agent/network/host-network';
import type { HostNetworkOptions } from '../../../agent/network/types';

export interface NsHost {
  /** Name under /run/netns. */
  name: string;
  nsPath: string;
  underlayAddr: string;
  /** Underlay link inside the namespace. */
  dev: string;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function switchName(tag: string): string {
  return `${tag}-sw`;
}

/** Creates the switch and three hosts; on a failure half-way removes what it made and rethrows. */
export function createThreeHosts(tag: string): [NsHost, NsHost, NsHost] {
  const hosts = [1, 2, 3].map((n) => ({ name: `${tag}-h${n}`, nsPath: `/run/netns/${tag}-h${n}`, underlayAddr: `10.213.0.${n}`, dev: `u${n}` })) as [NsHost, NsHost, NsHost];
  const sw = switchName(tag);
  try {
    ip('netns', 'add', sw);
    ip('-n', sw, 'link', 'add', 'sw', 'type', 'bridge');
    ip('-n', sw, 'link', 'set', 'sw', 'up');
    hosts.forEach((h, i) => {
      ip('netns', 'add', h.name);
      ip('-n', sw, 'link', 'add', `p${i + 1}`, 'master', 'sw', 'up', 'type', 'veth', 'peer', 'name', h.dev, 'netns', h.name);
      ip('-n', h.name, 'addr', 'add', `${h.underlayAddr}/24`, 'dev', h.dev);
      ip('-n', h.name, 'link', 'set', h.dev, 'up');
      ip('-n', h.name, 'link', 'set', 'lo', 'up');
    });
  } catch (e) {
    destroyThreeHosts(tag, hosts);
    throw e;
  }
  return hosts;
}

/** Deletes the namespaces (and so every link and nft table in them); returns problems, never throws. */
export function destroyThreeHosts(tag: string, hosts: readonly NsHost[]): string[] {
  const problems: string[] = [];
  for (const name of [...hosts.map((h) => h.name), switchName(tag)]) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' });
    } catch (e) {
      const msg = String((e as { stderr?: Buffer }).stderr ?? e);
      if (!/No such file/.test(msg)) problems.push(`ip netns del ${name}: ${msg}`);
    }
  }
  return problems;
}

interface Request {
  id: number;
  method: string;
  args: unknown[];
}

interface Response {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** HostNetwork methods the helper serves; arguments are passed through as JSON. */
const METHODS = ['ensureOverlay', 'removeOverlay', 'createSandbox', 'attach', 'removeSandbox', 'setPeers', 'enableEgress', 'setNodeEndpoint', 'setPublishedPorts', 'close'] as const;
type Method = (typeof METHODS)[number];

/** A HostNetwork in a helper process inside a test host's network namespace. */
export class NsAgent {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(
    readonly host: NsHost,
    readonly opts: HostNetworkOptions,
  ) {
    this.child = spawn('nsenter', [`--net=${host.nsPath}`, process.execPath, __filename, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then((code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`helper in ${host.name} exited (${code}): ${this.stderr}`));
      this.waiting.clear();
    });
    const rl = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      const r = JSON.parse(line) as Response;
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (r.ok) w?.resolve(r.value);
      else w?.reject(new Error(`${host.name}: ${r.error ?? 'failed'}`));
    });
  }

  call<T = unknown>(method: Method, ...args: unknown[]): Promise<T> {
    const req: Request = { id: this.nextId++, method, args };
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(req.id, { resolve: (v) => resolve(v as T), reject });
      this.child.stdin?.write(`${JSON.stringify(req)}\n`);
    });
  }

  /** Closes stdin (the helper then closes its HostNetwork and exits); SIGKILL by PID after 10 s. */
  async stop(): Promise<number | null> {
    this.child.stdin?.end();
    const timer = setTimeout(() => {
      if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(this.child.pid, 'SIGKILL');
    }, 10_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

function serve(opts: HostNetworkOptions): void {
  const hn = new HostNetwork(opts);
  const table = hn as unknown as Record<Method, (...a: unknown[]) => Promise<unknown>>;
  const reply = (r: Response): void => void process.stdout.write(`${JSON.stringify(r)}\n`);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const req = JSON.parse(line) as Request;
    const method = METHODS.find((m) => m === req.method);
    if (method === undefined) return reply({ id: req.id, ok: false, error: `unknown method ${req.method}` });
    Promise.resolve()
      .then(() => table[method].apply(hn, req.args))
      .then(
        (value) => reply({ id: req.id, ok: true, value: value ?? null }),
        (e: unknown) => reply({ id: req.id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }),
      );
  });
  rl.on('close', () => {
    hn.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`close: ${String(e)}\n`);
        process.exit(1);
      },
    );
  });
}

const optsArg = process.argv[2];
if (optsArg !== undefined && require.main === module) serve(JSON.parse(optsArg) as HostNetworkOptions);
