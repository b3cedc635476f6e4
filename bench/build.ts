/**
 * Build benchmark, our side: `tsswarm build --network none` of bench/build-context.ts's
 * multi-stage Dockerfile on a one-host cluster (busybox imported), CLI wall time (the steps need no
 * network; the dockerds of the benchmarks have no bridge, so both sides build without one):
 *   coldMs    `--no-cache`: every step runs (RUN in the project's runtime, each layer made and
 *             pushed into the cluster registry); the base image is already unpacked, as a
 *             `docker build --no-cache` has its base image loaded;
 *   cachedMs  the same build again: every step from the cache, the image stored again.
 * Root, after `npm run build`: node dist/bench/build.js [--runs 3]
 * The peer: bench/docker-build.sh (docker build, BuildKit, on a dockerd in a netns).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestHosts } from '../test/integration/harness/hosts';
import { writeBuildContext } from './build-context';
import { median } from './stats';

function timed(f: () => void): number {
  const t = process.hrtime.bigint();
  f();
  return Number((process.hrtime.bigint() - t) / 1_000_000n);
}

function main(): void {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 3;
  const cold: number[] = [];
  const cached: number[] = [];
  const hosts = new TestHosts(1);
  try {
    hosts.start();
    hosts.importBusybox();
    const ctx = path.join(hosts.root, 'bench-ctx');
    fs.mkdirSync(ctx);
    writeBuildContext(ctx);
    const m = hosts.manager;
    // One build first: the base image's layers unpacked on this host, as docker load did for Docker.
    hosts.ok(m, ['build', '-q', '--network', 'none', '-t', 'bench/app:warmup', ctx]);
    for (let r = 0; r < runs; r++) {
      cold.push(timed(() => hosts.ok(m, ['build', '-q', '--network', 'none', '--no-cache', '-t', `bench/app:${r}`, ctx])));
      cached.push(timed(() => hosts.ok(m, ['build', '-q', '--network', 'none', '-t', `bench/app:${r}`, ctx])));
      process.stderr.write(`run ${r + 1}: cold ${cold.at(-1)} ms, cached ${cached.at(-1)} ms\n`);
    }
  } finally {
    hosts.destroy();
  }
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString().slice(0, 10), runs, coldMs: median(cold), cachedMs: median(cached), coldMsAll: cold, cachedMsAll: cached })}\n`);
}

main();
