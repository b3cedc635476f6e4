/**
 * Placement on three test hosts (network namespaces): max_replicas_per_node, constraints on engine
 * and node labels, generic resources, spread preferences over labels, and CPU reservations. Each time a task that cannot be placed
 * waits as pending with Swarm's explanation, and runs as soon as something changes that lets a
 * node take it: a host joins, a label is added, another service frees capacity. Tests assert where
 * tasks end up, never how long it took.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts, type TestHost } from './harness/hosts';
import { eventually } from './harness/cluster';

interface TaskRow { name: string; service: string; node: string | null; desiredState: string; state: string; error: string | null }
interface NodeRow { hostname: string; cpus: number; labels: Record<string, string> }

describe('placement', () => {
  let hosts: TestHosts;
  let m: TestHost;

  /** The live tasks (desired running) of a stack. */
  const live = (stack: string) => hosts.json<TaskRow[]>(['stack', 'ps', stack]).filter((t) => t.desiredState === 'running');
  const runningOn = (tasks: TaskRow[], svc: string) =>
    tasks.filter((t) => t.service === svc && t.state === 'running').map((t) => t.node!).sort();
  /** Writes a stack file and deploys it without waiting (some of its tasks are meant to wait). */
  const deploy = (stack: string, lines: string[]) => {
    const file = path.join(m.dataRoot, `${stack}.yml`);
    fs.writeFileSync(file, ['services:', ...lines, ''].join('\n'));
    hosts.ok(m, ['deploy', '--detach', '-c', file, stack]);
  };
  const remove = async (stack: string) => {
    hosts.ok(m, ['stack', 'rm', stack]);
    await eventually(`stack ${stack} to be gone`, () => !hosts.json<{ name: string }[]>(['stack', 'ls']).some((s) => s.name === stack));
  };
  /** A service that just sleeps and stops within 1 s. */
  const sleeper = (name: string, deployLines: string[]) => [
    `  ${name}:`,
    '    image: busybox',
    '    command: sh -c "while true; do sleep 1; done"',
    '    stop_grace_period: 1s',
    '    deploy:',
    ...deployLines.map((l) => `      ${l}`),
  ];

  before(() => {
    requireRoot();
    hosts = new TestHosts(3);
    m = hosts.manager;
    hosts.createNetwork();
    hosts.initManager();
    // host3 joins during the first test.
    const { token, managerAddr } = hosts.joinToken('worker');
    const h2 = hosts.hosts[1]!;
    hosts.ok(h2, hosts.joinArgs(h2, token, managerAddr));
    hosts.importBusybox();
  });

  after(() => {
    hosts?.destroy();
  });

  it('max_replicas_per_node: one task per host; the one left over waits, then runs on a host that joins', async () => {
    deploy('maxr', sleeper('one', ['replicas: 3', 'placement: { max_replicas_per_node: 1 }']));
    await eventually('two tasks running and one pending with the explanation', () => {
      const t = live('maxr');
      const pending = t.filter((x) => x.state === 'pending');
      return runningOn(t, 'maxr_one').join() === 'host1,host2' && pending.length === 1 && pending[0]!.error === 'no suitable node (max replicas per node limit exceeded on 2 nodes)';
    });
    const h3 = hosts.hosts[2]!;
    const { token, managerAddr } = hosts.joinToken('worker');
    // With an engine label and a generic resource of its own, for the next test.
    hosts.ok(h3, [...hosts.joinArgs(h3, token, managerAddr), '--label', 'disk=ssd', '--generic-resource', 'gpu=1']);
    await eventually('the third task to run on the host that joined', () => runningOn(live('maxr'), 'maxr_one').join() === 'host1,host2,host3', 90000);
    await remove('maxr');
  });

  it('what an agent registers: its engine labels for constraints, its generic resources for reservations', async () => {
    deploy('eng', [
      ...sleeper('ssd', ['replicas: 2', 'placement: { constraints: [engine.labels.disk == ssd] }']),
      ...sleeper('gpu', ['replicas: 2', 'resources: { reservations: { generic_resources: [{ discrete_resource_spec: { kind: gpu, value: 1 } }] } }']),
    ]);
    await eventually('ssd on host3 twice, one gpu task on host3, the other pending', () => {
      const t = live('eng');
      const pending = t.filter((x) => x.service === 'eng_gpu' && x.state === 'pending');
      return runningOn(t, 'eng_ssd').join() === 'host3,host3' && runningOn(t, 'eng_gpu').join() === 'host3' && pending.length === 1 && pending[0]!.error === 'no suitable node (insufficient resources on 3 nodes)';
    });
    await remove('eng');
  });

  it('a constraint on a node label: the task waits until a host has the label, then runs only there', async () => {
    deploy('cons', sleeper('east', ['replicas: 2', 'placement: { constraints: [node.labels.zone == east] }']));
    await eventually('both tasks pending with the explanation', () => {
      const t = live('cons');
      return t.length === 2 && t.every((x) => x.state === 'pending' && x.error === 'no suitable node (scheduling constraints not satisfied on 3 nodes)');
    });
    hosts.ok(m, ['node', 'update', '--label-add', 'zone=east', 'host2']);
    await eventually('both tasks running on host2', () => runningOn(live('cons'), 'cons_east').join() === 'host2,host2');
    // A label elsewhere that does not match changes nothing.
    hosts.ok(m, ['node', 'update', '--label-add', 'zone=west', 'host3']);
    hosts.ok(m, ['service', 'scale', 'cons_east=4']);
    assert.deepEqual(runningOn(live('cons'), 'cons_east'), ['host2', 'host2', 'host2', 'host2']);
    await remove('cons');
  });

  it('spread over a label: as many tasks per zone, whatever the hosts per zone', async () => {
    hosts.ok(m, ['node', 'update', '--label-add', 'zone=west', 'host1']);
    const labels = hosts.json<NodeRow[]>(['node', 'ls']).map((n) => `${n.hostname}:${n.labels.zone}`).sort();
    assert.deepEqual(labels, ['host1:west', 'host2:east', 'host3:west']);
    deploy('spr', sleeper('web', ['replicas: 6', 'placement: { preferences: [{ spread: node.labels.zone }] }']));
    await eventually('six tasks running', () => runningOn(live('spr'), 'spr_web').length === 6);
    const on = runningOn(live('spr'), 'spr_web');
    const count = (h: string) => on.filter((x) => x === h).length;
    // east is host2 alone: it takes half; west's two hosts share the other half.
    assert.equal(count('host2'), 3);
    assert.equal(count('host1') + count('host3'), 3);
    assert.ok(count('host1') >= 1 && count('host3') >= 1, `west spreads over its hosts: ${on.join()}`);
    await remove('spr');
  });

  it('reservations: a task waits while no host has the CPUs left, and runs where a task of another service stopped', async () => {
    const cpus = Math.min(...hosts.json<NodeRow[]>(['node', 'ls']).map((n) => n.cpus));
    // More than half of a host: two never fit on one host.
    const share = (Math.floor(cpus * 60) / 100).toFixed(2);
    deploy('res', sleeper('hog', ['replicas: 3', `resources: { reservations: { cpus: '${share}' } }`]));
    await eventually('one hog per host', () => runningOn(live('res'), 'res_hog').join() === 'host1,host2,host3');
    deploy('late', sleeper('late', ['replicas: 1', `resources: { reservations: { cpus: '${share}' } }`]));
    await eventually('the late task pending with the explanation', () => {
      const [t, ...rest] = live('late');
      return rest.length === 0 && t?.state === 'pending' && t.error === 'no suitable node (insufficient resources on 3 nodes)';
    });
    hosts.ok(m, ['service', 'scale', '--detach', 'res_hog=2']);
    await eventually('the late task running on the host the hog left', () => {
      const hogs = runningOn(live('res'), 'res_hog');
      const late = runningOn(live('late'), 'late_late');
      return hogs.length === 2 && late.length === 1 && !hogs.includes(late[0]!);
    }, 90000);
    await remove('late');
    await remove('res');
  });

  it('a node that stops meeting a constraint loses its task, which waits, then runs where the label went', async () => {
    deploy('move', sleeper('east', ['replicas: 1', 'placement: { constraints: [node.labels.zone == east] }']));
    await eventually('the task running on host2 (east)', () => runningOn(live('move'), 'move_east').join() === 'host2');
    hosts.ok(m, ['node', 'update', '--label-add', 'zone=north', 'host2']);
    await eventually('no task on host2, the replacement pending with the reason', () => {
      const t = live('move');
      return t.length === 1 && t[0]!.state === 'pending' && t[0]!.error === 'no suitable node (scheduling constraints not satisfied on 3 nodes)';
    });
    hosts.ok(m, ['node', 'update', '--label-add', 'zone=east', 'host3']);
    await eventually('the task running on host3', () => runningOn(live('move'), 'move_east').join() === 'host3');
    await remove('move');
  });
});
