/**
 * The Docker Engine API of a manager, driven by the real `docker` command line: Debian's 20.10
 * client (/usr/bin/docker) and, where the machine has one, a newer client on the PATH (it
 * negotiates down to the API version tsswarm answers). Two test hosts: what the docker CLI
 * creates is a tsswarm service (the tsswarm CLI sees it) and the reverse; the raw shapes a tool
 * relies on are checked with curl on the socket.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
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
    // docker/cli rebuilds the list from a map on --env-add: its order is the client's, not ours.
    assert.deepEqual([...env].sort(), ['A=1', 'B=2']);
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

  // docker service logs and docker events (manager/docker-api/log-routes.ts, event-routes.ts).

  /** The running task of a one-replica service, as Docker names it: ids and its node's hostname. */
  const runningTask = (service: string) => {
    const [t] = api<Array<{ ID: string; NodeID: string; ServiceID: string }>>('/tasks?filters=' + encodeURIComponent(JSON.stringify({ service: { [service]: true }, 'desired-state': { running: true } })));
    assert.ok(t, `a running task of ${service}`);
    const host = api<{ Description: { Hostname: string } }>(`/nodes/${t.NodeID}`).Description.Hostname;
    return { id: t.ID, nodeId: t.NodeID, serviceId: t.ServiceID, host };
  };
  /** A response with its headers (curl -i) as bytes: the log stream is binary. */
  const curlBytes = (url: string): { head: string; body: Buffer } => {
    const r = spawnSync('curl', ['-s', '-i', '--unix-socket', sock, '--output', '-', url], { encoding: 'buffer', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr.toString());
    const at = r.stdout.indexOf('\r\n\r\n');
    assert.ok(at > 0, 'a response with headers');
    return { head: r.stdout.subarray(0, at).toString('latin1'), body: r.stdout.subarray(at + 4) };
  };
  /** stdcopy's frames: type, three zero bytes, big-endian length, payload. */
  const stdFrames = (b: Buffer): Array<[number, string]> => {
    const out: Array<[number, string]> = [];
    for (let at = 0; at < b.length; ) {
      assert.ok(b.length - at >= 8, `a whole frame header at ${at}`);
      assert.deepEqual([...b.subarray(at + 1, at + 4)], [0, 0, 0]);
      const len = b.readUInt32BE(at + 4);
      out.push([b[at]!, b.subarray(at + 8, at + 8 + len).toString('utf8')]);
      at += 8 + len;
    }
    return out;
  };

  it("docker service logs: each line after its task and node as Docker prints it; --no-task-ids, --no-trunc, --raw, --timestamps, --tail, --since, a task's logs", async () => {
    dockerOk(['service', 'create', '--detach', '--name', 'talker', 'busybox:latest', 'sh', '-c', 'echo out-1; echo err-1 >&2; sleep 1; echo out-2; sleep 1000']);
    await eventually("talker's lines", () => docker(['service', 'logs', '--raw', 'talker']).stdout.includes('out-2'));
    const t = runningTask('talker');
    const name = `talker.1.${t.id.slice(0, 12)}@${t.host}`;
    for (const bin of clients) {
      const logs = (args: string[]) => {
        const r = dockerWith(bin, ['service', 'logs', ...args]);
        assert.equal(r.code, 0, `${bin} service logs ${args.join(' ')}: ${r.stderr}`);
        return r;
      };
      const plain = logs(['talker']);
      assert.equal(plain.stdout, `${name}    | out-1\n${name}    | out-2\n`, bin);
      assert.equal(plain.stderr, `${name}    | err-1\n`, bin);
      assert.equal(logs(['--no-task-ids', 'talker']).stdout, `talker.1@${t.host}    | out-1\ntalker.1@${t.host}    | out-2\n`, bin);
      assert.match(logs(['--no-trunc', 'talker']).stdout, new RegExp(`^talker\\.1\\.${t.id}@${t.host}    \\| out-1$`, 'm'));
      const raw = logs(['--raw', 'talker']);
      assert.equal(raw.stdout, 'out-1\nout-2\n', bin);
      assert.equal(raw.stderr, 'err-1\n', bin);
      const stamped = logs(['--timestamps', 'talker']).stdout.trim().split('\n');
      assert.equal(stamped.length, 2, stamped.join('\n'));
      const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z) (\S+)    \| out-2$/.exec(stamped[1]!);
      assert.ok(m, stamped[1]);
      assert.equal(m[2], name);
      assert.ok(Math.abs(Date.parse(m[1]!) - Date.now()) < 10 * 60_000, m[1]);
      const tail = logs(['--tail', '1', 'talker']);
      assert.equal(tail.stdout, `${name}    | out-2\n`, bin);
      assert.equal(tail.stderr, '', bin);
      // --since: the CLI turns the time into Unix seconds.nanoseconds; out-2 (a second after the others) is at its own time.
      const since = logs(['--since', m[1]!, '--raw', 'talker']).stdout;
      assert.ok(since.includes('out-2') && !since.includes('out-1'), since);
      // A task: the CLI finds no service of that name, and asks /tasks/{id}/logs.
      assert.equal(logs([t.id]).stdout, `${name}    | out-1\n${name}    | out-2\n`, bin);
      const missing = dockerWith(bin, ['service', 'logs', 'nope']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no such task or service: nope/);
    }
  });

  it("the log stream on the wire: stdcopy frames with the swarm context, raw-stream at API 1.41 as dockerd names it; errors before it are Docker's JSON", () => {
    const t = runningTask('talker');
    const context = `com.docker.swarm.node.id=${t.nodeId},com.docker.swarm.service.id=${t.serviceId},com.docker.swarm.task.id=${t.id}`;
    const r = curlBytes('http://docker/v1.41/services/talker/logs?stdout=1&stderr=1&details=1');
    assert.match(r.head, /^HTTP\/1\.1 200/);
    assert.match(r.head, /^content-type: application\/vnd\.docker\.raw-stream\r?$/im);
    const frames = stdFrames(r.body);
    assert.equal(frames.length, 3, JSON.stringify(frames));
    // Each stream in order; how out-1 and err-1 interleave is the order the shim read its pipes in.
    assert.deepEqual(frames.filter(([st]) => st === 1), [[1, `${context} out-1\n`], [1, `${context} out-2\n`]]);
    assert.deepEqual(frames.filter(([st]) => st === 2), [[2, `${context} err-1\n`]]);
    const task = stdFrames(curlBytes(`http://docker/v1.41/tasks/${t.id}/logs?stdout=1&timestamps=1`).body);
    assert.deepEqual(task.map(([s]) => s), [1, 1]);
    assert.match(task[0]![1], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z out-1\n$/);
    const status = (url: string) => {
      const lines = curl(['-w', '\n%{http_code}', url]).stdout.trim().split('\n');
      return { status: lines.at(-1), body: JSON.parse(lines[0]!) as { message: string } };
    };
    assert.deepEqual(status('http://docker/v1.41/services/talker/logs'), { status: '400', body: { message: 'Bad parameters: you must choose at least one stream' } });
    const missing = status('http://docker/v1.41/services/nope/logs?stdout=1');
    assert.equal(missing.status, '404');
    assert.match(missing.body.message, /nope/);
  });

  it('docker service logs -f: lines written later come while the client reads', async () => {
    dockerOk(['service', 'create', '--detach', '--name', 'ticker', 'busybox:latest', 'sh', '-c', 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 1; done']);
    await eventually('ticker ticking', () => docker(['service', 'logs', '--raw', 'ticker']).stdout.includes('tick-1\n'));
    for (const bin of clients) {
      const child = spawn(bin, ['-H', `unix://${sock}`, 'service', 'logs', '-f', '--tail', '1', 'ticker'], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: hosts.root, DOCKER_CONFIG: path.join(hosts.root, 'docker-cli') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise((r) => child.once('exit', r));
      try {
        const first = await eventually(`${bin}: a first line`, () => /\| tick-(\d+)\n/.exec(out), 20000);
        const later = Number(first[1]) + 2;
        await eventually(`${bin}: tick-${later} while following (${err})`, () => out.includes(`| tick-${later}\n`), 20000);
        assert.match(out, /^ticker\.1\.\w{12}@host\d    \| tick-\d+$/m);
        assert.equal(child.exitCode, null, 'still following');
      } finally {
        if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
        await exited;
      }
    }
  });

  it("docker events --since / --until: the swarm events in between, in Docker's text and JSON, with Docker's filters", async () => {
    const t0 = (Date.now() / 1000).toFixed(3);
    dockerOk(['service', 'create', '--detach', '--name', 'evts', 'busybox:latest', 'sleep', '1000']);
    const id = api<{ ID: string }>('/services/evts').ID;
    dockerOk(['service', 'scale', '--detach', 'evts=2']);
    await new Promise((r) => setTimeout(r, 1500));
    const t1 = (Date.now() / 1000).toFixed(3);
    for (const bin of clients) {
      const text = dockerWith(bin, ['events', '--since', t0, '--until', t1, '--filter', 'type=service']);
      assert.equal(text.code, 0, `${bin}: ${text.stderr}`);
      const lines = text.stdout.trim().split('\n');
      const time = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{9}(Z|[+-]\\d{2}:\\d{2})';
      assert.ok(lines.some((l) => new RegExp(`^${time} service create ${id} \\(name=evts\\)$`).test(l)), text.stdout);
      assert.ok(lines.some((l) => new RegExp(`^${time} service update ${id} \\(name=evts, .*replicas\\.new=2, replicas\\.old=1`).test(l)), text.stdout);
      assert.ok(lines.every((l) => / service (create|update|remove) /.test(l)), text.stdout);
      const json = dockerWith(bin, ['events', '--since', t0, '--until', t1, '--filter', 'type=service', '--filter', 'event=create', '--format', '{{json .}}']);
      assert.equal(json.code, 0, `${bin}: ${json.stderr}`);
      const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown> & { Type: string; Action: string; Actor: { ID: string }; time: number; timeNano: number });
      assert.ok(events.every((e) => e.Type === 'service' && e.Action === 'create'), json.stdout);
      const create = events.find((e) => e.Actor.ID === id);
      assert.ok(create, json.stdout);
      assert.deepEqual({ Type: create.Type, Action: create.Action, Actor: create.Actor, scope: create.scope }, { Type: 'service', Action: 'create', Actor: { ID: id, Attributes: { name: 'evts' } }, scope: 'swarm' });
      assert.equal(create.time, Math.floor(create.timeNano / 1e9));
      assert.ok(create.time >= Math.floor(Number(t0)) && create.time <= Number(t1), `${create.time} in [${t0}, ${t1}]`);
      for (const legacy of ['status', 'id', 'from']) assert.equal(create[legacy], undefined, legacy);
    }
    // Durations are the CLI's to turn into times; a service filter selects by name prefix; tasks have no Docker events.
    const named = dockerOk(['events', '--since', '5m', '--until', '0s', '--filter', 'service=evts', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']);
    assert.match(named, /^service create evts$/m);
    assert.ok(named.trim().split('\n').every((l) => l.endsWith(' evts')), named);
    assert.equal(dockerOk(['events', '--since', t0, '--until', t1, '--filter', 'type=task']), '');
    // Without --until the stream follows: an event made after it started comes.
    const follow = spawn(clients[0]!, ['-H', `unix://${sock}`, 'events', '--filter', 'type=service', '--filter', 'event=remove', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: hosts.root, DOCKER_CONFIG: path.join(hosts.root, 'docker-cli') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => follow.once('exit', r));
    try {
      await new Promise((r) => setTimeout(r, 1000));
      dockerOk(['service', 'rm', 'evts']);
      await eventually('the remove while following', () => out.includes('remove evts\n'), 20000);
    } finally {
      if (follow.pid !== undefined && follow.exitCode === null) process.kill(follow.pid, 'SIGTERM');
      await exited;
    }
  });

  it("a TTY service's logs are raw: --raw reads them, without it the CLI says it cannot, and no frame headers on the wire", async () => {
    dockerOk(['service', 'create', '--detach', '--tty', '--name', 'ttyer', 'busybox:latest', 'sh', '-c', 'echo tty-1; sleep 1000']);
    await eventually("ttyer's line", () => docker(['service', 'logs', '--raw', 'ttyer']).stdout.includes('tty-1'));
    for (const bin of clients) {
      const pretty = dockerWith(bin, ['service', 'logs', 'ttyer']);
      assert.equal(pretty.code, 1);
      assert.match(pretty.stderr, /tty service logs only supported with --raw/);
      assert.match(dockerWith(bin, ['service', 'logs', '--raw', 'ttyer']).stdout, /^tty-1\r?\n$/);
    }
    const r = curlBytes('http://docker/v1.41/services/ttyer/logs?stdout=1&stderr=1');
    assert.match(r.head, /^content-type: application\/vnd\.docker\.raw-stream\r?$/im);
    assert.match(r.body.toString(), /^tty-1\r?\n$/);
  });

  it('the services of the log and event tests are removed', async () => {
    dockerOk(['service', 'rm', 'talker', 'ticker', 'ttyer']);
    await eventually('the services gone', () => !hosts.json<Array<{ name: string }>>(['service', 'ls']).some((s) => ['talker', 'ticker', 'ttyer', 'evts'].includes(s.name)));
  });
});
