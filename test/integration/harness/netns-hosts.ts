/**
 * Test "hosts" on this kernel for the data-plane tests: two network namespaces `<tag>-h1`, `<tag>-h2`
 * under /run/netns joined by a veth pair (the underlay, 10.213.0.1/24 and .2), or three on a test
 * switch; each may run one HostNetwork in a helper process (host-network-helper.ts, HostAgent).
 * Deleting the namespaces takes every link and nft table inside them along.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { HostNetworkOptions } from '../../../agent/network';
import type { HelperRequest, HelperResponse } from './host-network-helper';

export interface TestHost {
  /** Name under /run/netns. */
  name: string;
  nsPath: string;
  underlayAddr: string;
}

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Creates both hosts; on a failure half-way removes what it made and rethrows. */
export function createHosts(tag: string): [TestHost, TestHost] {
  const hosts: [TestHost, TestHost] = [
    { name: `${tag}-h1`, nsPath: `/run/netns/${tag}-h1`, underlayAddr: '10.213.0.1' },
    { name: `${tag}-h2`, nsPath: `/run/netns/${tag}-h2`, underlayAddr: '10.213.0.2' },
  ];
  try {
    for (const h of hosts) ip('netns', 'add', h.name);
    ip('-n', hosts[0].name, 'link', 'add', 'u1', 'type', 'veth', 'peer', 'name', 'u2', 'netns', hosts[1].name);
    for (const [h, dev] of [[hosts[0], 'u1'], [hosts[1], 'u2']] as const) {
      ip('-n', h.name, 'addr', 'add', `${h.underlayAddr}/24`, 'dev', dev);
      ip('-n', h.name, 'link', 'set', dev, 'up');
      ip('-n', h.name, 'link', 'set', 'lo', 'up');
    }
  } catch (e) {
    destroyHosts(hosts);
    throw e;
  }
  return hosts;
}

/** Deletes the namespaces; returns problems instead of throwing so that cleanup goes on. */
export function destroyHosts(hosts: readonly TestHost[]): string[] {
  return deleteNamespaces(hosts.map((h) => h.name));
}

/** `ip netns del` of each name (and so of every link and nft table inside); absent is fine. */
function deleteNamespaces(names: readonly string[]): string[] {
  const problems: string[] = [];
  for (const name of names) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' });
    } catch (e) {
      const msg = String((e as { stderr?: Buffer }).stderr ?? e);
      if (!/No such file/.test(msg)) problems.push(`ip netns del ${name}: ${msg}`);
    }
  }
  return problems;
}

const switchName = (tag: string) => `${tag}-sw`;

/**
 * Three hosts on a test switch (for the published-ports test): namespaces `<tag>-h1..h3`, each
 * with a veth `u<n>` (10.213.0.<n>/24) whose other end sits on a bridge in a fourth namespace
 * `<tag>-sw` (nothing is added to the machine's own namespace). On a failure half-way removes what
 * it made and rethrows.
 */
export function createSwitchedHosts(tag: string): [TestHost, TestHost, TestHost] {
  const hosts = [1, 2, 3].map((n) => ({ name: `${tag}-h${n}`, nsPath: `/run/netns/${tag}-h${n}`, underlayAddr: `10.213.0.${n}` })) as [TestHost, TestHost, TestHost];
  const sw = switchName(tag);
  try {
    ip('netns', 'add', sw);
    ip('-n', sw, 'link', 'add', 'sw', 'type', 'bridge');
    ip('-n', sw, 'link', 'set', 'sw', 'up');
    hosts.forEach((h, i) => {
      const dev = `u${i + 1}`;
      ip('netns', 'add', h.name);
      ip('-n', sw, 'link', 'add', `p${i + 1}`, 'master', 'sw', 'up', 'type', 'veth', 'peer', 'name', dev, 'netns', h.name);
      ip('-n', h.name, 'addr', 'add', `${h.underlayAddr}/24`, 'dev', dev);
      ip('-n', h.name, 'link', 'set', dev, 'up');
      ip('-n', h.name, 'link', 'set', 'lo', 'up');
    });
  } catch (e) {
    destroySwitchedHosts(tag, hosts);
    throw e;
  }
  return hosts;
}

/** Deletes the hosts and the switch; returns problems, never throws. */
export function destroySwitchedHosts(tag: string, hosts: readonly TestHost[]): string[] {
  return deleteNamespaces([...hosts.map((h) => h.name), switchName(tag)]);
}

/** A HostNetwork in a helper process inside a test host's network namespace. */
export class HostAgent {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<number | null>;
  private stderr = '';

  /** `script` is the helper to run in the host's namespace (JSON lines in and out, as host-network-helper.ts). */
  constructor(
    readonly host: Pick<TestHost, 'name' | 'nsPath'>,
    readonly opts: HostNetworkOptions,
    script: string = join(__dirname, 'host-network-helper.js'),
  ) {
    this.child = spawn('nsenter', [`--net=${host.nsPath}`, process.execPath, script, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then((code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`helper in ${host.name} exited (${code}): ${this.stderr}`));
      this.waiting.clear();
    });
    const rl = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      const r = JSON.parse(line) as HelperResponse;
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (r.ok) w?.resolve(r.value);
      else w?.reject(new Error(`${host.name}: ${r.error ?? 'failed'}`));
    });
  }

  call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    const req: HelperRequest = { id: this.nextId++, method, args };
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(req.id, { resolve: (v) => resolve(v as T), reject });
      this.child.stdin?.write(`${JSON.stringify(req)}\n`);
    });
  }

  /** Closes stdin (the helper then closes its HostNetwork and exits); SIGKILL by PID after 10 s. */
  /** An agent crash: SIGKILL, nothing closed (what it started detached, like the ESP helper, stays). */
  async kill(): Promise<void> {
    if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(this.child.pid, 'SIGKILL');
    await this.exited;
  }

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
