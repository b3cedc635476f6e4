/**
 * Container start: create + start + reap + remove of `true`, tsswarm's native runtime against
 * `runc run` (the peer a user would otherwise pick), alternating so both see the same machine state.
 *
 *   node dist/bench/container-start.js [--iterations N] [--no-record] [--cgroup-root DIR]
 *
 * Needs root, runc (scripts/setup.sh --bench) and a built addon (npm run build:native).
 * Appends a row to bench/RESULTS.md unless --no-record.
 */
import { defaultRuntimeSettings } from '../shared/types';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRuntime } from '../agent/runtime';
import { detectCgroupDriver } from '../agent/runtime/cgroups';
import { makeBusyboxRootfs } from './busybox-rootfs';
import { quantile, upperMedian as median } from './stats';

interface Args {
  iterations: number;
  record: boolean;
  /** Cgroup root for tsswarm (runc always uses its own default). */
  cgroupRoot: string | null;
}

function parseArgs(argv: string[]): Args {
  const out: Args = { iterations: 30, record: true, cgroupRoot: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--iterations') out.iterations = Number(argv[++i]);
    else if (a === '--no-record') out.record = false;
    else if (a === '--cgroup-root') out.cgroupRoot = argv[++i] ?? null;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(out.iterations) || out.iterations < 1) throw new Error('--iterations must be a positive integer');
  return out;
}

/** An OCI bundle for runc whose process is `true`, rootfs a plain copy of the busybox layer. */
function makeRuncBundle(bundle: string, layer: string): void {
  cpSync(layer, join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  execFileSync('runc', ['spec'], { cwd: bundle });
  const specFile = join(bundle, 'config.json');
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as { process: { terminal: boolean; args: string[] }; hostname: string };
  spec.process.terminal = false;
  spec.process.args = ['true'];
  spec.hostname = 'bench';
  writeFileSync(specFile, JSON.stringify(spec, null, 2));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('container-start needs root');
  const runcVersion = spawnSync('runc', ['--version'], { encoding: 'utf8' });
  if (runcVersion.status !== 0) throw new Error('runc not found: run scripts/setup.sh --bench');

  const tmp = mkdtempSync('/tmp/tsswarm-bench-');
  const layer = join(tmp, 'layer');
  const bundle = join(tmp, 'bundle');
  const runcRoot = join(tmp, 'runc-state');
  makeBusyboxRootfs(layer);
  makeRuncBundle(bundle, layer);
  const cgroupParent = `tsswarm-bench-${process.pid}`;
  const cgroupRoot = args.cgroupRoot ?? undefined;
  const rt = createRuntime({ root: join(tmp, 'state'), cgroupParent, ...(cgroupRoot === undefined ? {} : { cgroupRoot }) });

  const ours = async (id: string): Promise<number> => {
    const t0 = performance.now();
    await rt.run({
      id,
      lowerDirs: [layer],
      args: ['true'],
      env: [],
      cwd: '/',
      user: null,
      hostname: 'bench',
      limits: { memoryBytes: null, nanoCpus: null, pids: null },
      logPath: join(tmp, 'logs', `${id}.log`),
      netns: null,
      files: [],
      runtime: defaultRuntimeSettings(),
    });
    const status = await rt.wait(id);
    await rt.remove(id);
    const t = performance.now() - t0;
    if (status.exitCode !== 0) throw new Error(`ours: true exited ${status.exitCode}`);
    return t;
  };
  // `runc run` without --detach is create + start + wait + delete in one command.
  const runc = (id: string): number => {
    const t0 = performance.now();
    const r = spawnSync('runc', ['--root', runcRoot, 'run', '--bundle', bundle, id], { stdio: 'ignore' });
    const t = performance.now() - t0;
    if (r.status !== 0) throw new Error(`runc run exited ${r.status}`);
    return t;
  };
  // crun, the fast C runtime, on the same bundle (when installed): the figure "as fast as crun" means.
  const crunVersion = spawnSync('crun', ['--version'], { encoding: 'utf8' });
  const crunRoot = join(tmp, 'crun-state');
  // crun refuses some hosts outright (1.8 on a v1 host whose cgroup2 mount holds a controller:
  // "cgroups in hybrid mode not supported"); then it is left out and the reason printed.
  const crunProbe = crunVersion.status === 0 ? spawnSync('crun', ['--root', crunRoot, 'run', '--bundle', bundle, 'probe'], { encoding: 'utf8' }) : null;
  const haveCrun = crunProbe !== null && crunProbe.status === 0;
  if (crunProbe && !haveCrun) console.log(`crun left out: ${(crunProbe.stderr || crunProbe.stdout).trim().split('\n')[0]}`);
  const crun = (id: string): number => {
    const t0 = performance.now();
    const r = spawnSync('crun', ['--root', crunRoot, 'run', '--bundle', bundle, id], { stdio: 'ignore' });
    const t = performance.now() - t0;
    if (r.status !== 0) throw new Error(`crun run exited ${r.status}`);
    return t;
  };
  // What spawning any command from Node costs here; part of runc's number, reported for context.
  const spawnBaseline = (): number => {
    const t0 = performance.now();
    spawnSync('/bin/true', [], { stdio: 'ignore' });
    return performance.now() - t0;
  };

  const oursMs: number[] = [];
  const runcMs: number[] = [];
  const spawnMs: number[] = [];
  const crunMs: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      await ours(`warm-${i}`);
      runc(`warm-${i}`);
      if (haveCrun) crun(`warm-${i}`);
    }
    for (let i = 0; i < args.iterations; i++) {
      oursMs.push(await ours(`b-${i}`));
      runcMs.push(runc(`b-${i}`));
      if (haveCrun) crunMs.push(crun(`b-${i}`));
      spawnMs.push(spawnBaseline());
    }
  } finally {
    for (const id of await rt.list()) await rt.remove(id);
    for (const dir of detectCgroupDriver(cgroupRoot).plan(cgroupParent, 'x').dirs) {
      try {
        rmdirSync(dirname(dir));
      } catch {
        // never created, or already gone
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  }

  const o = median(oursMs);
  const r = median(runcMs);
  const s = median(spawnMs);
  const ratio = o / r;
  const cgroupVersion = detectCgroupDriver(cgroupRoot).version;
  const cpu = cpus()[0]?.model.trim() ?? 'unknown cpu';
  const runcVer = /runc version (\S+)/.exec(runcVersion.stdout)?.[1] ?? '?';
  const cgroupNote = cgroupRoot === undefined ? `cgroup v${cgroupVersion}` : `cgroup v${cgroupVersion} at ${cgroupRoot} (runc: default)`;
  const machine = `${cpu}, ${cpus().length} cores, Linux ${release()}, ${cgroupNote}, runc ${runcVer}`;
  console.log(`machine: ${machine}`);
  console.log(`iterations: ${args.iterations} each, alternating`);
  console.log(`tsswarm  median ${o.toFixed(1)} ms  p90 ${quantile(oursMs, 0.9).toFixed(1)} ms`);
  console.log(`runc run median ${r.toFixed(1)} ms  p90 ${quantile(runcMs, 0.9).toFixed(1)} ms  (of which ~${s.toFixed(1)} ms is spawning any process from Node)`);
  console.log(`ratio tsswarm/runc ${ratio.toFixed(2)} (target <= 0.35); against runc minus spawn cost ${(o / (r - s)).toFixed(2)}`);
  const c = haveCrun ? median(crunMs) : null;
  const crunVer = /crun version (\S+)/.exec(crunVersion.stdout ?? '')?.[1] ?? '?';
  if (c !== null) {
    console.log(`crun run median ${c.toFixed(1)} ms  p90 ${quantile(crunMs, 0.9).toFixed(1)} ms (crun ${crunVer})`);
    console.log(`ratio tsswarm/crun ${(o / c).toFixed(2)}`);
  }

  if (args.record) {
    const file = resolve(__dirname, '..', '..', 'bench', 'RESULTS.md');
    if (!existsSync(file)) {
      writeFileSync(
        file,
        '# Benchmark results\n\nOne row per run, newest last. Ratios are tsswarm / peer (lower is better).\n\n' +
          '| date | benchmark | machine | tsswarm | peer | ratio | notes |\n|---|---|---|---|---|---|---|\n',
      );
    }
    const date = new Date().toISOString().slice(0, 10);
    appendFileSync(
      file,
      `| ${date} | container-start (create+start+reap+remove \`true\`) | ${machine} | ${o.toFixed(1)} ms | runc run ${r.toFixed(1)} ms | ${ratio.toFixed(2)} | median of ${args.iterations}, alternating; runc timed via spawnSync (~${s.toFixed(1)} ms spawn cost included) |\n` +
        (c === null
          ? ''
          : `| ${date} | container-start (create+start+reap+remove \`true\`) | ${machine} | ${o.toFixed(1)} ms | crun ${crunVer} run ${c.toFixed(1)} ms | ${(o / c).toFixed(2)} | same run as the row above (three-way alternation), crun timed via spawnSync |\n`),
    );
    console.log(`recorded in ${file}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
