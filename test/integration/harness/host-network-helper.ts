/**
 * One "agent's" HostNetwork, run inside a test host's network namespace (started under
 * `nsenter --net=/run/netns/<host>`, which unlike `ip netns exec` leaves /sys and the cgroup mounts
 * alone). Requests are JSON lines on stdin, answers JSON lines on stdout. When stdin closes (the
 * test ended or died) it closes the HostNetwork and exits, so nothing outlives the test.
 *
 * Without its options argument it does nothing: `node --test dist/test/...` loads every file
 * under test/ and must not hang on this one.
 */
import { createInterface } from 'node:readline';
import { HostNetwork } from '../../../agent/network';
import type { AttachSpec, Endpoint, HostNetworkOptions, OverlaySpec, PublishedPort } from '../../../agent/network';
import { median } from '../../../bench/stats';

export interface HelperRequest {
  id: number;
  method: string;
  args: unknown[];
}

export interface HelperResponse {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface AttachBench {
  n: number;
  /** createSandbox + attach, one after the other: per-attach latency. */
  sequentialMedianMs: number;
  sequentialMeanMs: number;
  sequentialSpawnsPerAttach: number;
  /** n createSandbox + attach started at once: what a burst of task starts sees. */
  concurrentTotalMs: number;
  concurrentSpawns: number;
}

/** Sandboxes b0.. / c0.. with addresses from the top of the subnet's host part (base .. base+n). */
async function benchAttach(hn: HostNetwork, spec: OverlaySpec, n: number, ipOf: (i: number) => string): Promise<AttachBench> {
  const { macForIp } = await import('../../../agent/network');
  const one = async (id: string, ip: string): Promise<void> => {
    await hn.createSandbox(id);
    await hn.attach(id, spec, { ip, mac: macForIp(ip), ifname: 'eth0', defaultRoute: true });
  };
  const times: number[] = [];
  const s0 = hn.spawnCount;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await one(`b${i}`, ipOf(i));
    times.push(performance.now() - t0);
  }
  const seqSpawns = hn.spawnCount - s0;
  await Promise.all(Array.from({ length: n }, (_, i) => hn.removeSandbox(`b${i}`)));
  const c0 = hn.spawnCount;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => one(`c${i}`, ipOf(i))));
  const concurrentTotalMs = performance.now() - t0;
  const concurrentSpawns = hn.spawnCount - c0;
  await Promise.all(Array.from({ length: n }, (_, i) => hn.removeSandbox(`c${i}`)));
  return {
    n,
    sequentialMedianMs: median(times),
    sequentialMeanMs: times.reduce((a, b) => a + b, 0) / n,
    sequentialSpawnsPerAttach: seqSpawns / n,
    concurrentTotalMs,
    concurrentSpawns,
  };
}

function serve(opts: HostNetworkOptions): void {
  const hn = new HostNetwork(opts);
  const methods: Record<string, (a: unknown[]) => Promise<unknown>> = {
    ensureOverlay: (a) => hn.ensureOverlay(a[0] as OverlaySpec),
    removeOverlay: (a) => hn.removeOverlay(a[0] as string),
    createSandbox: (a) => hn.createSandbox(a[0] as string),
    attach: (a) => hn.attach(a[0] as string, a[1] as OverlaySpec, a[2] as AttachSpec),
    removeSandbox: (a) => hn.removeSandbox(a[0] as string),
    setPeers: (a) => hn.setPeers(a[0] as string, a[1] as Endpoint[]),
    enableEgress: (a) => hn.enableEgress(a[0] as OverlaySpec),
    setNodeEndpoint: (a) => hn.setNodeEndpoint(a[0] as string, a[1] as { ip: string; mac: string } | null),
    setPublishedPorts: (a) => hn.setPublishedPorts(a[0] as PublishedPort[]),
    setMeshReturn: (a) => hn.setMeshReturn(a[0] as string, a[1] as string, a[2] as string[]),
    // Keys travel as hex (JSON has no Buffer): { primary, keys: [{ tag, key }] }.
    setEncryptionKeys: (a) => {
      const r = a[0] as { primary: number; keys: Array<{ tag: number; key: string }> };
      return hn.setEncryptionKeys({ primary: r.primary, keys: r.keys.map((k) => ({ tag: k.tag, key: Buffer.from(k.key, 'hex') })) });
    },
    encryptionStats: () => hn.encryptionStats(),
    close: () => hn.close(),
    benchAttach: (a) => {
      const [spec, n, prefix3, base] = a as [OverlaySpec, number, string, number];
      return benchAttach(hn, spec, n, (i) => `${prefix3}.${base + i}`);
    },
  };
  const reply = (r: HelperResponse): void => void process.stdout.write(`${JSON.stringify(r)}\n`);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const req = JSON.parse(line) as HelperRequest;
    const fn = methods[req.method];
    if (fn === undefined) return reply({ id: req.id, ok: false, error: `unknown method ${req.method}` });
    fn(req.args).then(
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
