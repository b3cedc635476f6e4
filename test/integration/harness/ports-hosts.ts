/**
 * Three test "hosts" for the published-ports test: network namespaces `<tag>-h1..h3` under
 * /run/netns, each with a veth `u<n>` (10.213.0.<n>/24) whose other end sits on a bridge in a
 * fourth namespace `<tag>-sw` (the test's switch: nothing is added to the machine's own namespace).
 * A HostNetwork runs in a helper process inside a host namespace (this file, run with its options
 * as argument): JSON lines in, JSON lines out, closes the HostNetwork and exits when stdin closes.
 *
 * Loaded without arguments (`node --test` loads every file under test/) it does nothing.
 */
import { execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { HostNetwork } from '../../../agent/network/host-network';
import type { HostNetworkOptions } from '../../../agent/network/types';
import { HostAgent } from './netns-hosts';

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
/** The generic helper client, running this file's serve() (it knows the published-port methods). */
export class NsAgent extends HostAgent {
  constructor(host: NsHost, opts: HostNetworkOptions) {
    super(host, opts, __filename);
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
