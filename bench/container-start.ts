/**
 * Container start: create + start + reap + delete of `true`, with Docker's default confinement
 * (seccomp profile, masked and read-only paths, device cgroup, cgroup namespace). The *same bundle*
 * (one config.json from agent/runtime/oci/spec.ts, rootfs a plain copy of a busybox layer) goes
 * through `tsswarm-runtime run`, `runc run` and, where it runs, `crun run`, alternating; beside them
 * the agent's own path (the addon: overlay mount, config.json, `run --detach`, wait, remove).
 *
 *   node dist/bench/container-start.js [--iterations N] [--no-record] [--cgroup-root DIR] [--steps]
 *
 * --steps also times tsswarm-runtime on variants of the bundle with one confinement step taken out
 * (seccomp, masked/read-only paths, device rules, cgroup namespace): what each step costs.
 * Needs root, runc (scripts/setup.sh --bench) and a built native/ (npm run build:native).
 * Appends rows to bench/RESULTS.md unless --no-record.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { createRuntime } from '../agent/runtime';
import { detectCgroupDriver } from '../agent/runtime/cgroups';
import { runtimePath } from '../agent/runtime/native';
import { hostFacts } from '../agent/runtime/oci/host';
import { buildSpec } from '../agent/runtime/oci/spec';
import type { OciSpec } from '../agent/runtime/oci/spec-types';
import { defaultRuntimeSettings } from '../shared/types';
import { makeBusyboxRootfs } from './busybox-rootfs';
import { quantile, upperMedian as median } from './stats';

interface Args {
  iterations: number;
  record: boolean;
  /** Cgroup root for tsswarm (runc and crun always use their own default). */
  cgroupRoot: string | null;
  steps: boolean;
}

function parseArgs(argv: string[]): Args {
  const out: Args = { iterations: 30, record: true, cgroupRoot: null, steps: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--iterations') out.iterations = Number(argv[++i]);
    else if (a === '--no-record') out.record = false;
    else if (a === '--cgroup-root') out.cgroupRoot = argv[++i] ?? null;
    else if (a === '--steps') out.steps = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(out.iterations) || out.iterations < 1) throw new Error('--iterations must be a positive integer');
  return out;
}

/** The agent's config.json for `true`, with Docker's defaults; the cgroup under `parent`. */
function benchSpec(parent: string): OciSpec {
  return buildSpec(
    {
      id: 'bench',
      args: ['true'],
      env: [],
      cwd: '/',
      hostname: 'bench',
      identity: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
      limits: { memoryBytes: null, nanoCpus: null, pids: null },
      netns: null,
      runtime: defaultRuntimeSettings(),
      cgroupsPath: `${parent}/bench`,
      userns: null,
      mounts: [],
      // The plain file: no log annotations, so runc and tsswarm-runtime run the same bundle.
      logPath: '/dev/null',
      log: { kind: 'file' },
      tty: false,
      openStdin: false,
    },
    hostFacts(runtimePath),
  );
}

/** A bundle directory: rootfs copied from the layer, config.json as given. */
function writeBundle(dir: string, layer: string, spec: OciSpec): void {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, 'rootfs'))) cpSync(layer, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 1));
}

/** One step of Docker's confinement taken out of the spec. */
const STEPS: { name: string; without: (s: OciSpec) => void }[] = [
  { name: 'seccomp', without: (s) => delete s.linux.seccomp },
  { name: 'masked + read-only paths', without: (s) => ((s.linux.maskedPaths = []), (s.linux.readonlyPaths = [])) },
  { name: 'device cgroup rules', without: (s) => (s.linux.resources.devices = []) },
  { name: 'cgroup namespace', without: (s) => (s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== 'cgroup')) },
];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('container-start needs root');
  const runcVersion = spawnSync('runc', ['--version'], { encoding: 'utf8' });
  if (runcVersion.status !== 0) throw new Error('runc not found: run scripts/setup.sh --bench');

  const tmp = mkdtempSync('/tmp/tsswarm-bench-');
  const layer = join(tmp, 'layer');
  makeBusyboxRootfs(layer);
  const cgroupParent = `tsswarm-bench-${process.pid}`;
  const cgroupRoot = args.cgroupRoot ?? undefined;
  const spec = benchSpec(cgroupParent);
  const bundle = join(tmp, 'bundle');
  writeBundle(bundle, layer, spec);
  const globalCg = cgroupRoot === undefined ? [] : ['--cgroup-root', cgroupRoot];
  const rt = createRuntime({ root: join(tmp, 'state'), cgroupParent, ...(cgroupRoot === undefined ? {} : { cgroupRoot }) });

  /** `X run` without --detach is create + start + wait + delete in one command, timed from Node. */
  const cli = (cmd: string, root: string, bundleDir: string, global: string[] = []) => (id: string): number => {
    const t0 = performance.now();
    const r = spawnSync(cmd, [...global, '--root', root, 'run', '--bundle', bundleDir, id], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    const t = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${cmd} run exited ${r.status}: ${r.stderr.trim()}`);
    return t;
  };
  const ours = cli(runtimePath, join(tmp, 'tsswarm-state'), bundle, globalCg);
  const runc = cli('runc', join(tmp, 'runc-state'), bundle);
  // crun refuses some hosts outright (1.8 on a v1 host whose cgroup2 mount holds a controller:
  // "cgroups in hybrid mode not supported"); then it is left out and the reason printed.
  const crunVersion = spawnSync('crun', ['--version'], { encoding: 'utf8' });
  const crunRoot = join(tmp, 'crun-state');
  const crunProbe = crunVersion.status === 0 ? spawnSync('crun', ['--root', crunRoot, 'run', '--bundle', bundle, 'probe'], { encoding: 'utf8' }) : null;
  const haveCrun = crunProbe !== null && crunProbe.status === 0;
  if (crunProbe && !haveCrun) console.log(`crun left out: ${(crunProbe.stderr || crunProbe.stdout).trim().split('\n')[0]}`);
  const crun = cli('crun', crunRoot, bundle);
  // The agent's path: the addon, an overlay rootfs, the same defaults.
  const agent = async (id: string): Promise<number> => {
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
      log: { kind: 'file' },
      tty: false,
      openStdin: false,
      netns: null,
      files: [],
      runtime: defaultRuntimeSettings(),
      mounts: [],
    });
    const status = await rt.wait(id);
    await rt.remove(id);
    const t = performance.now() - t0;
    if (status.exitCode !== 0) throw new Error(`agent path: true exited ${status.exitCode}`);
    return t;
  };
  const steps = args.steps
    ? STEPS.map((s) => {
        const variant = structuredClone(spec);
        s.without(variant);
        const dir = join(tmp, `bundle-${s.name.replace(/\W+/g, '-')}`);
        writeBundle(dir, layer, variant);
        return { name: s.name, run: cli(runtimePath, join(tmp, 'tsswarm-state'), dir, globalCg), ms: [] as number[] };
      })
    : [];
  // What spawning any command from Node costs here; part of every CLI number, reported for context.
  const spawnBaseline = (): number => {
    const t0 = performance.now();
    spawnSync('/bin/true', [], { stdio: 'ignore' });
    return performance.now() - t0;
  };

  const oursMs: number[] = [];
  const runcMs: number[] = [];
  const crunMs: number[] = [];
  const agentMs: number[] = [];
  const spawnMs: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      ours(`warm-${i}`);
      runc(`warm-${i}`);
      if (haveCrun) crun(`warm-${i}`);
      await agent(`warm-${i}`);
    }
    for (let i = 0; i < args.iterations; i++) {
      oursMs.push(ours(`b-${i}`));
      runcMs.push(runc(`b-${i}`));
      if (haveCrun) crunMs.push(crun(`b-${i}`));
      agentMs.push(await agent(`b-${i}`));
      for (const s of steps) s.ms.push(s.run(`s-${i}`));
      spawnMs.push(spawnBaseline());
    }
  } finally {
    for (const id of await rt.list()) await rt.remove(id);
    for (const dir of [...detectCgroupDriver(cgroupRoot).plan(cgroupParent, 'x').dirs, ...detectCgroupDriver().plan(cgroupParent, 'x').dirs]) {
      try {
        rmdirSync(resolve(dir, '..'));
      } catch {
        // never created, or already gone
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  }

  const o = median(oursMs);
  const r = median(runcMs);
  const a = median(agentMs);
  const sp = median(spawnMs);
  const c = haveCrun ? median(crunMs) : null;
  const cgroupVersion = detectCgroupDriver(cgroupRoot).version;
  const cpu = cpus()[0]?.model.trim() ?? 'unknown cpu';
  const runcVer = /runc version (\S+)/.exec(runcVersion.stdout)?.[1] ?? '?';
  const crunVer = /crun version (\S+)/.exec(crunVersion.stdout ?? '')?.[1] ?? '?';
  const cgroupNote = cgroupRoot === undefined ? `cgroup v${cgroupVersion}` : `cgroup v${cgroupVersion} at ${cgroupRoot} for tsswarm (runc: default)`;
  const machine = `${cpu}, ${cpus().length} cores, Linux ${release()}, ${cgroupNote}, runc ${runcVer}`;
  const p90 = (xs: number[]): string => quantile(xs, 0.9).toFixed(1);
  console.log(`machine: ${machine}`);
  console.log(`iterations: ${args.iterations} each, alternating; every CLI timed via spawnSync (~${sp.toFixed(1)} ms of each is spawning any process from Node)`);
  console.log(`tsswarm-runtime run  median ${o.toFixed(1)} ms  p90 ${p90(oursMs)} ms`);
  console.log(`runc run             median ${r.toFixed(1)} ms  p90 ${p90(runcMs)} ms`);
  if (c !== null) console.log(`crun run             median ${c.toFixed(1)} ms  p90 ${p90(crunMs)} ms (crun ${crunVer})`);
  console.log(`agent (addon) path   median ${a.toFixed(1)} ms  p90 ${p90(agentMs)} ms (overlay rootfs, config.json, run --detach, wait, remove)`);
  console.log(`ratio tsswarm-runtime/runc ${(o / r).toFixed(2)} (target <= 0.4); agent path/runc ${(a / r).toFixed(2)}`);
  for (const s of steps) {
    const m = median(s.ms);
    console.log(`without ${s.name}: median ${m.toFixed(1)} ms (the step costs ~${(o - m).toFixed(1)} ms)`);
  }

  if (args.record) {
    const file = resolve(__dirname, '..', '..', 'bench', 'RESULTS.md');
    const date = new Date().toISOString().slice(0, 10);
    const what = 'container-start, same bundle, Docker default confinement (create+start+reap+delete `true`)';
    const note = `median of ${args.iterations}, alternating (tsswarm-runtime, runc${c === null ? '' : ', crun'}, agent path); seccomp + masked/read-only paths + device cgroup + cgroup ns on for all; CLIs timed via spawnSync (~${sp.toFixed(1)} ms spawn cost in each)`;
    let rows = `| ${date} | ${what} | ${machine} | tsswarm-runtime run ${o.toFixed(1)} ms | runc run ${r.toFixed(1)} ms | ${(o / r).toFixed(2)} | ${note} |\n`;
    if (c !== null) rows += `| ${date} | ${what} | ${machine} | tsswarm-runtime run ${o.toFixed(1)} ms | crun ${crunVer} run ${c.toFixed(1)} ms | ${(o / c).toFixed(2)} | same run as the row above |\n`;
    rows += `| ${date} | ${what}: the agent's path (addon) | ${machine} | ${a.toFixed(1)} ms | runc run ${r.toFixed(1)} ms | ${(a / r).toFixed(2)} | same run; overlay rootfs mount, user lookup, config.json, run --detach, wait, remove |\n`;
    appendFileSync(file, rows);
    console.log(`recorded in ${file}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
