/**
 * Leader-manager failover: 3 test hosts, all managers (etcd member, manager
 * and agent on each), a service of 30 busybox httpd replicas spread over
 * them. Two scenarios per run, each on a fresh cluster:
 *   kill:  SIGKILL of the leader's manager process (its host lives on; its
 *          supervisor restarts it). leaderMs: until a survivor's API names
 *          another leader; scaleMs: until a scale 30→33 sent through a
 *          survivor at the kill has all 33 running.
 *   power: the leader's host loses power (link down, SIGKILL of everything
 *          on it, its etcd member included). leaderMs as above; allMs: until
 *          30 replicas run again, none on the dead host.
 * State is read from a survivor's API socket every 20 ms. Root, after
 * `npm run build`:
 *   node dist/bench/leader-failover.js [--runs 5] [--no-record]
 */
import * as fs from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { Client } from '../cli/client';
import { TestHosts, type TestHost } from '../test/integration/harness/hosts';
import { median } from './stats';
import { until } from './poll';
import { httpdStack } from '../test/integration/harness/stacks';

const REPLICAS = 30;

interface TaskRow { node: string | null; desiredState: string; state: string }
interface NodeRow { hostname: string; manager: string | null }

async function cluster(): Promise<{ hosts: TestHosts; leader: TestHost; survivor: TestHost; api: Client }> {
  const hosts = new TestHosts(3);
  hosts.start(3);
  hosts.importBusybox();
  const m = hosts.manager;
  const file = path.join(m.dataRoot, 'stack.yml');
  fs.writeFileSync(file, httpdStack(REPLICAS));
  hosts.ok(m, ['deploy', '-c', file, 'lf']);
  const api0 = new Client(hosts.api(m));
  await until('30 running on 3 hosts, 3 reachable managers', Date.now() + 120000, async () => {
    const r = (await api0.get<TaskRow[]>('/v1/services/lf_web/tasks')).filter((t) => t.desiredState === 'running' && t.state === 'running');
    const n = await api0.get<NodeRow[]>('/v1/nodes');
    return r.length === REPLICAS && new Set(r.map((t) => t.node)).size === 3 && n.filter((x) => x.manager !== null && x.manager !== 'unreachable').length === 3;
  });
  // Let the deploy's after-effects (VIP refreshes, image copies) pass.
  await new Promise((r) => setTimeout(r, 1500));
  const leaderName = (await api0.get<NodeRow[]>('/v1/nodes')).find((n) => n.manager === 'leader')!.hostname;
  const leader = hosts.hosts.find((h) => h.name === leaderName)!;
  const survivor = hosts.hosts.find((h) => h !== leader)!;
  return { hosts, leader, survivor, api: new Client(hosts.api(survivor)) };
}

const newLeader = (api: Client, old: string) => async () => {
  const l = (await api.get<NodeRow[]>('/v1/nodes')).find((n) => n.manager === 'leader');
  return l !== undefined && l.hostname !== old;
};

async function killRun(): Promise<{ leaderMs: number; scaleMs: number }> {
  const { hosts, leader, api } = await cluster();
  try {
    const pid = Number(fs.readFileSync(path.join(leader.dataRoot, 'manager.pid'), 'utf8'));
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    // The scale goes through the survivor at once; it is accepted as soon as the store answers.
    const scaled = api.post('/v1/scale', { scales: { lf_web: REPLICAS + 3 } });
    await until('a new leader', t0 + 60000, newLeader(api, leader.name));
    const leaderMs = Date.now() - t0;
    await scaled;
    await until('33 running', t0 + 60000, async () => (await api.get<TaskRow[]>('/v1/services/lf_web/tasks')).filter((t) => t.desiredState === 'running' && t.state === 'running').length === REPLICAS + 3);
    return { leaderMs, scaleMs: Date.now() - t0 };
  } finally {
    hosts.destroy();
  }
}

async function powerRun(): Promise<{ leaderMs: number; allMs: number }> {
  const { hosts, leader, api } = await cluster();
  try {
    const t0 = Date.now();
    hosts.killHost(leader);
    let leaderMs = -1;
    await until('failover', t0 + 120000, async () => {
      if (leaderMs < 0 && (await newLeader(api, leader.name)())) leaderMs = Date.now() - t0;
      const r = (await api.get<TaskRow[]>('/v1/services/lf_web/tasks')).filter((t) => t.desiredState === 'running' && t.state === 'running');
      return leaderMs >= 0 && r.length === REPLICAS && r.every((t) => t.node !== leader.name);
    });
    return { leaderMs, allMs: Date.now() - t0 };
  } finally {
    hosts.destroy();
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 5;
  const kill: { leaderMs: number; scaleMs: number }[] = [];
  const power: { leaderMs: number; allMs: number }[] = [];
  for (let r = 1; r <= runs; r++) {
    const k = await killRun();
    kill.push(k);
    process.stderr.write(`run ${r}: leader manager SIGKILL: new leader after ${k.leaderMs} ms, scale through a survivor done after ${k.scaleMs} ms\n`);
    const p = await powerRun();
    power.push(p);
    process.stderr.write(`run ${r}: leader host power cut: new leader after ${p.leaderMs} ms, ${REPLICAS} running again after ${p.allMs} ms\n`);
  }
  const med = <T>(xs: T[], k: keyof T) => median(xs.map((x) => x[k] as number));
  const result = {
    date: new Date().toISOString().slice(0, 10),
    runs,
    kill: { leaderMs: med(kill, 'leaderMs'), scaleMs: med(kill, 'scaleMs') },
    power: { leaderMs: med(power, 'leaderMs'), allMs: med(power, 'allMs') },
    raw: { kill, power },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (!process.argv.includes('--no-record')) {
    const machine = `${cpus()[0]?.model.trim() ?? 'cpu'}, ${cpus().length} cores`;
    fs.appendFileSync(
      path.join(__dirname, '..', '..', 'bench', 'RESULTS.md'),
      `| ${result.date} | leader-manager failover, 3 managers (etcd member each), 30 replicas: SIGKILL of the leader's manager → another leads; scale 30→33 through a survivor all running | ${machine} | new leader ${result.kill.leaderMs} ms, scale done ${result.kill.scaleMs} ms | — | — | median of ${runs}; election lease 2 s, a restarted manager removes its predecessor's campaign key; no peer run (see notes in bench/README.md) |\n` +
      `| ${result.date} | leader-manager failover: power cut of the leader's host (its etcd member too) → another leads; 30 replicas running again off the dead host | ${machine} | new leader ${result.power.leaderMs} ms, all 30 ${result.power.allMs} ms | — | — | median of ${runs}; heartbeat 500 ms, grace 1.5 s, election lease 2 s |\n`,
    );
  }
}

main().catch((e: Error) => {
  process.stderr.write(`leader-failover bench: ${e.message}\n`);
  process.exit(1);
});
