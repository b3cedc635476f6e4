/**
 * The Docker Engine API of a manager, driven by the real `docker` command line: Debian's 20.10
 * client (/usr/bin/docker) and, where the machine has one, a newer client on the PATH (it
 * negotiates down to the API version tsswarm answers). Two test hosts: what the docker CLI
 * creates is a tsswarm service (the tsswarm CLI sees it) and the reverse; the raw shapes a tool
 * relies on are checked with curl on the socket.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts } from './harness/hosts';
import { eventually } from './harness/cluster';

interface Result { code: number; stdout: string; stderr: string }

/** The docker clients of this machine, one per version. */
function dockerClients(): string[] {
  const seen = new Map<string, string>();
  for (const bin of ['/usr/bin/docker', '/usr/local/bin/docker']) {
    if (!fs.existsSync(bin)) continue;
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (v && !seen.has(v)) seen.set(v, bin);
  }
  return [...seen.values()];
}

describe('the Docker Engine API', () => {
  let hosts: TestHosts;
  let sock = '';
  const clients = dockerClients();
  const dockerWith = (bin: string, args: string[], input?: string): Result => {
    const r = spawnSync(bin, ['-H', `unix://${sock}`, ...args], {
      encoding: 'utf8',
      timeout: 120000,
      ...(input === undefined ? {} : { input }),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: hosts.root, DOCKER_CONFIG: path.join(hosts.root, 'docker-cli') },
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const docker = (args: string[], input?: string) => dockerWith(clients[0]!, args, input);
  const dockerOk = (args: string[], input?: string) => {
    const r = docker(args, input);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const curl = (args: string[]) => {
    const r = spawnSync('curl', ['-s', '--unix-socket', sock, ...args], { encoding: 'utf8', timeout: 30000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const api = <T>(p: string): T => JSON.parse(curl([`http://docker/v1.41${p}`]).stdout) as T;

  before(() => {
    requireRoot();
    if (clients.length === 0) assert.fail('the docker CLI is missing: run scripts/setup.sh');
    if (spawnSync('curl', ['--version']).status !== 0) assert.fail('curl is missing: run scripts/setup.sh');
    hosts = new TestHosts(2);
    hosts.start();
    hosts.importBusybox();
    sock = path.join(hosts.manager.dataRoot, 'docker.sock');
  });

  after(() => {
    hosts?.destroy();
  });

  it('docker version: the server is tsswarm at API 1.41, whatever API the client speaks', () => {
    for (const bin of clients) {
      const r = dockerWith(bin, ['version', '--format', '{{json .Server}}']);
      assert.equal(r.code, 0, `${bin}: ${r.stderr}`);
      const server = JSON.parse(r.stdout) as { ApiVersion: string; Os: string; Platform: { Name: string }; MinAPIVersion: string };
      assert.equal(server.ApiVersion, '1.41');
      assert.equal(server.MinAPIVersion, '1.24');
      assert.equal(server.Os, 'linux');
      assert.match(server.Platform.Name, /^tsswarm \d+\.\d+\.\d+/);
    }
  });

  it("/_ping answers with the headers a client negotiates from; an unknown endpoint is Docker's 404 body", () => {
    const ping = curl(['-i', 'http://docker/_ping']);
    assert.equal(ping.code, 0, ping.stderr);
    assert.match(ping.stdout, /^HTTP\/1\.1 200/);
    assert.match(ping.stdout, /^api-version: 1\.41\r$/im);
    assert.match(ping.stdout, /^ostype: linux\r$/im);
    assert.match(ping.stdout, /^swarm: active\/manager\r$/im);
    assert.match(ping.stdout, /\r\n\r\nOK$/);
    assert.deepEqual(JSON.parse(curl(['http://docker/v1.41/nothing']).stdout), { message: 'page not found' });
    assert.match((JSON.parse(curl(['http://docker/v1.12/version']).stdout) as { message: string }).message, /^client version 1\.12 is too old/);
  });

  it('docker info shows the swarm: active, a manager, the cluster id tsswarm knows, its nodes', () => {
    for (const bin of clients) {
      const r = dockerWith(bin, ['info', '--format', '{{json .Swarm}}']);
      assert.equal(r.code, 0, `${bin}: ${r.stderr}`);
      const s = JSON.parse(r.stdout) as { LocalNodeState: string; ControlAvailable: boolean; Nodes: number; Managers: number; Cluster: { ID: string }; NodeID: string };
      assert.equal(s.LocalNodeState, 'active');
      assert.equal(s.ControlAvailable, true);
      assert.equal(s.Nodes, 2);
      assert.equal(s.Managers, 1);
      const ours = hosts.json<Array<{ id: string; hostname: string }>>(['node', 'ls']);
      assert.equal(s.NodeID, ours.find((n) => n.hostname === 'host1')!.id);
      // The human form as well: the CLI prints every section without a template.
      const text = dockerWith(bin, ['info']);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /Swarm: active/);
      assert.match(text.stdout, /Is Manager: true/);
    }
  });

  it('docker node ls / inspect / update: the nodes, the leader, labels written through to tsswarm', () => {
    for (const bin of clients) {
      const r = dockerWith(bin, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}} {{.Self}}']);
      assert.equal(r.code, 0, `${bin}: ${r.stderr}`);
      assert.deepEqual(r.stdout.trim().split('\n').sort(), ['host1 Ready Active Leader true', 'host2 Ready Active  false']);
    }
    dockerOk(['node', 'update', '--label-add', 'zone=east', 'host2']);
    assert.equal(dockerOk(['node', 'inspect', '--format', '{{.Spec.Labels.zone}} {{.Description.Hostname}} {{.Spec.Role}}', 'host2']).trim(), 'east host2 worker');
    const ours = hosts.json<Array<{ hostname: string; labels: Record<string, string> }>>(['node', 'ls']);
    assert.deepEqual(ours.find((n) => n.hostname === 'host2')!.labels, { zone: 'east' });
    assert.equal(dockerOk(['node', 'ls', '--filter', 'node.label=zone=east', '--format', '{{.Hostname}}']).trim(), 'host2');
    dockerOk(['node', 'update', '--label-rm', 'zone', 'host2']);
    assert.equal(dockerOk(['node', 'inspect', '--format', '{{len .Spec.Labels}}', 'host2']).trim(), '0');
  });

  it('docker service create converges, and the service is a tsswarm service; tsswarm services are Docker services', () => {
    const out = dockerOk(['service', 'create', '--name', 'web', '--replicas', '2', '--env', 'A=1', '--label', 'team=blue', 'busybox:latest', 'sleep', '1000']);
    assert.match(out, /verify: Service (web )?converged/);
    const ours = hosts.json<Array<{ name: string; desired: number; running: number; image: string }>>(['service', 'ls']);
    const web = ours.find((s) => s.name === 'web');
    assert.ok(web, JSON.stringify(ours));
    assert.equal(web.running, 2);
    // The client pinned the tag through /distribution; the service runs that digest.
    assert.match(web.image, /^busybox:latest@sha256:[0-9a-f]{64}$/);
    const ls = dockerOk(['service', 'ls', '--format', '{{.Name}} {{.Mode}} {{.Replicas}}']);
    assert.match(ls, /^web replicated 2\/2$/m);
    const spec = JSON.parse(dockerOk(['service', 'inspect', '--format', '{{json .Spec}}', 'web'])) as { Labels: Record<string, string>; TaskTemplate: { ContainerSpec: { Env: string[]; Args: string[] } }; Mode: { Replicated: { Replicas: number } } };
    assert.deepEqual(spec.Labels, { team: 'blue' });
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Env, ['A=1']);
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.Args, ['sleep', '1000']);
    assert.equal(spec.Mode.Replicated.Replicas, 2);
    const ps = dockerOk(['service', 'ps', '--format', '{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}}', 'web']).trim().split('\n');
    assert.equal(ps.length, 2, ps.join('\n'));
    for (const line of ps) assert.match(line, /^web\.[12] host[12] Running Running /);

    hosts.ok(hosts.manager, ['service', 'create', '--name', 'theirs', 'busybox:latest', 'sleep', '1000']);
    assert.match(dockerOk(['service', 'ls', '--format', '{{.Name}}']), /^theirs$/m);
    assert.equal(dockerOk(['service', 'inspect', '--format', '{{.Spec.Name}} {{.Spec.Mode.Replicated.Replicas}}', 'theirs']).trim(), 'theirs 1');
  });

  it('docker service scale / update / rollback change the tsswarm service', () => {
    dockerOk(['service', 'scale', 'web=3']);
    assert.equal(hosts.json<Array<{ name: string; running: number }>>(['service', 'ls']).find((s) => s.name === 'web')!.running, 3);
    dockerOk(['service', 'update', '--env-add', 'B=2', 'web']);
    const env = JSON.parse(dockerOk(['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}', 'web'])) as string[];
    assert.deepEqual(env, ['A=1', 'B=2']);
    const tasks = hosts.json<Array<{ service: string; desiredState: string; state: string; current: boolean }>>(['service', 'ps', 'web']);
    assert.equal(tasks.filter((t) => t.desiredState === 'running' && t.state === 'running' && t.current).length, 3);
    const previous = JSON.parse(dockerOk(['service', 'inspect', '--format', '{{json .PreviousSpec.TaskTemplate.ContainerSpec.Env}}', 'web'])) as string[];
    assert.deepEqual(previous, ['A=1']);
    dockerOk(['service', 'rollback', 'web']);
    assert.deepEqual(JSON.parse(dockerOk(['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}', 'web'])), ['A=1']);
  });

  it("a docker user's mistakes get Docker's kind of message", async () => {
    const missing = docker(['service', 'inspect', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such service: nope/i);
    const filter = docker(['service', 'ls', '--filter', 'colour=red']);
    assert.equal(filter.code, 1);
    assert.match(filter.stderr, /invalid filter 'colour'/);
    // An update made from a version someone else has changed since: 409, nothing applied.
    const svc = api<{ ID: string; Version: { Index: number }; Spec: { Labels: Record<string, string> } }>('/services/web');
    dockerOk(['service', 'update', '--label-add', 'x=1', '--detach', 'web']);
    const stale = curl(['-X', 'POST', '-H', 'Content-Type: application/json', '-d', JSON.stringify({ ...svc.Spec, Labels: { stale: 'yes' } }), '-w', '\n%{http_code}', `http://docker/v1.41/services/${svc.ID}/update?version=${svc.Version.Index}`]);
    const lines = stale.stdout.trim().split('\n');
    assert.equal(lines.at(-1), '409', stale.stdout);
    assert.match((JSON.parse(lines[0]!) as { message: string }).message, /update out of sequence/);
    assert.equal(api<{ Spec: { Labels: Record<string, string> } }>('/services/web').Spec.Labels.stale, undefined);
  });

  it('networks, secrets and configs: created by docker, seen by tsswarm', () => {
    dockerOk(['network', 'create', '-d', 'overlay', 'backend']);
    assert.match(dockerOk(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']), /^backend overlay swarm$/m);
    assert.ok(hosts.json<Array<{ name: string }>>(['network', 'ls']).some((n) => n.name === 'backend'));
    const bridge = docker(['network', 'create', '-d', 'bridge', 'local']);
    assert.equal(bridge.code, 1);
    assert.match(bridge.stderr, /overlay/);
    dockerOk(['secret', 'create', 'db_pass', '-'], 'hunter2');
    assert.match(dockerOk(['secret', 'ls', '--format', '{{.Name}}']), /^db_pass$/m);
    assert.ok(hosts.json<Array<{ name: string }>>(['secret', 'ls']).some((s) => s.name === 'db_pass'));
    dockerOk(['config', 'create', 'site', '-'], 'listen 80\n');
    assert.equal(Buffer.from(dockerOk(['config', 'inspect', '--format', '{{json .Spec.Data}}', 'site']).trim().replace(/"/g, ''), 'base64').toString(), 'listen 80\n');
    // A service with both, on the network, through the Docker API.
    dockerOk(['service', 'create', '--detach', '--name', 'db', '--network', 'backend', '--secret', 'db_pass', '--config', 'source=site,target=/etc/site.conf', 'busybox:latest', 'sleep', '1000']);
    const ours = hosts.json<Array<{ name: string; usedBy: string[] }>>(['secret', 'ls']).find((s) => s.name === 'db_pass')!;
    assert.deepEqual(ours.usedBy, ['db']);
    assert.equal(docker(['secret', 'rm', 'db_pass']).code, 1);
    dockerOk(['service', 'rm', 'db']);
    dockerOk(['secret', 'rm', 'db_pass']);
    dockerOk(['config', 'rm', 'site']);
    dockerOk(['network', 'rm', 'backend']);
    assert.ok(!hosts.json<Array<{ name: string }>>(['network', 'ls']).some((n) => n.name === 'backend'));
  });

  it('docker stack deploy / ls / ps / rm, and tsswarm sees the stack', async () => {
    const dir = path.join(hosts.root, 'stack');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'secret.txt'), 's3cret');
    fs.writeFileSync(
      path.join(dir, 'docker-stack.yml'),
      [
        'version: "3.8"',
        'services:',
        '  web:',
        '    image: busybox:latest',
        '    command: ["sleep", "1000"]',
        '    deploy: {replicas: 2}',
        '    networks: [front]',
        '    secrets: [token]',
        '  worker:',
        '    image: busybox:latest',
        '    command: sleep 1000',
        'networks:',
        '  front: {}',
        'secrets:',
        '  token: {file: ./secret.txt}',
        '',
      ].join('\n'),
    );
    dockerOk(['stack', 'deploy', '-c', path.join(dir, 'docker-stack.yml'), 'app']);
    assert.match(dockerOk(['stack', 'ls', '--format', '{{.Name}} {{.Services}}']), /^app 2$/m);
    assert.ok(hosts.json<Array<{ name: string }>>(['stack', 'ls']).some((s) => s.name === 'app'));
    await eventually('the stack running', () => hosts.json<Array<{ name: string; running: number }>>(['service', 'ls']).filter((s) => s.name.startsWith('app_') && s.running > 0).length === 2);
    const ps = dockerOk(['stack', 'ps', 'app', '--format', '{{.Name}} {{.DesiredState}}']).trim().split('\n').sort();
    assert.deepEqual(ps, ['app_web.1 Running', 'app_web.2 Running', 'app_worker.1 Running']);
    dockerOk(['stack', 'rm', 'app']);
    await eventually('the stack gone', () => !hosts.json<Array<{ name: string }>>(['service', 'ls']).some((s) => s.name.startsWith('app_')));
    assert.ok(!hosts.json<Array<{ name: string }>>(['network', 'ls']).some((n) => n.name === 'app_front'));
    assert.ok(!hosts.json<Array<{ name: string }>>(['secret', 'ls']).some((s) => s.name === 'app_token'));
  });

  it('the shapes tools read: ServiceStatus counts, a task\'s container status, Docker\'s field names', () => {
    const [svc] = api<Array<{ ID: string; ServiceStatus: { RunningTasks: number; DesiredTasks: number } }>>('/services?status=true&filters=' + encodeURIComponent(JSON.stringify({ name: { web: true } })));
    assert.ok(svc);
    assert.equal(svc.ServiceStatus.DesiredTasks, 3);
    assert.equal(svc.ServiceStatus.RunningTasks, 3);
    const tasks = api<Array<{ ID: string; ServiceID: string; NodeID: string; Slot: number; DesiredState: string; Status: { State: string; ContainerStatus: { ContainerID: string; PID: number } } }>>(
      '/tasks?filters=' + encodeURIComponent(JSON.stringify({ service: { web: true }, 'desired-state': { running: true } })),
    );
    assert.equal(tasks.length, 3);
    for (const t of tasks) {
      assert.equal(t.ServiceID, svc.ID);
      assert.equal(t.Status.State, 'running');
      assert.ok(t.Status.ContainerStatus.ContainerID);
      assert.ok(t.Status.ContainerStatus.PID > 0);
    }
  });
});
