/**
 * Prometheus's Docker Swarm service discovery (`dockerswarm_sd_configs`, roles tasks, services and
 * nodes) against a tsswarm manager's Docker Engine API, with Debian's unmodified `prometheus`:
 * once on a host against `<data root>/docker.sock`, once as Swarm users run it, a task of a stack
 * with the socket bind-mounted from the host, its API reached through the routing mesh. What it
 * discovers, read from its own `/api/v1/targets`, is compared with the tsswarm CLI's view of the
 * same cluster, following the rules of Prometheus's discovery/moby/{tasks,services,nodes}.go.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { inContainer, TestHosts, type TestHost } from './harness/hosts';
import { eventually } from './harness/cluster';

const PROMETHEUS = '/usr/bin/prometheus';
/**
 * The sd configs' `port`: Prometheus gives it to a task or service with no TCP port, and to every
 * node. The stack's httpd listen there.
 */
const SD_PORT = 8080;
const META = '__meta_dockerswarm_';

const APP_STACK = `services:
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "8080"]
    labels: {com.example.role: frontend}
    ports: ["18080:8080"]
    networks: [front]
    deploy:
      replicas: 2
      labels: {com.example.team: metrics}
  agent:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "8080"]
    ports:
      - {target: 8080, published: 18081, mode: host}
    networks: [front]
    deploy:
      mode: global
      labels: {com.example.team: metrics}
networks:
  front: {}
`;

interface TaskRow { id: string; service: string; slot: number | null; node: string | null; nodeId: string | null; desiredState: string; state: string; image: string; pid: number | null }
interface NodeRow { id: string; hostname: string; addr: string; status: string; availability: string; role: string; manager: string | null }
interface StoredTask { id: string; networks: Array<{ networkId: string; networkName: string; address: string }> }
interface StoredPort { target: number; published: number | null; protocol: string; mode: string }
interface StoredService { id: string; spec: { name: string; mode: string; labels: Record<string, string>; endpoint: { ports: StoredPort[] } }; vips: Array<{ networkId: string; address: string }> }
interface NetworkRow { id: string; name: string }
interface Target { scrapePool: string; discoveredLabels: Record<string, string> }

/**
 * One job per role against `socket` (a path as the Prometheus process sees it), and a tasks job
 * with `filters:`, which Prometheus hands to the Engine API's own `filters` parameter. It also
 * scrapes what it finds: only the test hosts' own addresses and their overlays' task addresses.
 */
function prometheusConfig(socket: string): string {
  const job = (name: string, role: string, filters: string[] = []) => [
    `  - job_name: ${name}`,
    '    dockerswarm_sd_configs:',
    `      - host: unix://${socket}`,
    `        role: ${role}`,
    `        port: ${SD_PORT}`,
    // Prometheus's default is 60s; discovery is what is under test, so refresh often.
    '        refresh_interval: 2s',
    ...(filters.length > 0 ? ['        filters:', ...filters.map((f) => `          - ${f}`)] : []),
  ];
  return [
    'scrape_configs:',
    ...job('swarm-tasks', 'tasks'),
    ...job('swarm-services', 'services'),
    ...job('swarm-nodes', 'nodes'),
    ...job('swarm-web', 'tasks', ['{name: service, values: [app_web]}', '{name: desired-state, values: [running]}']),
    '',
  ].join('\n');
}

/** A GET on a Docker Engine API socket, from the test process (the socket is a file: no netns needed). */
function engineGet<T>(socket: string, p: string): Promise<T> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: `/v1.41${p}` }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as T) : reject(new Error(`GET ${p}: ${res.statusCode} ${body}`))));
      })
      .on('error', reject);
  });
}

const ipOf = (cidr: string) => cidr.split('/')[0]!;
const sorted = (xs: string[]) => [...xs].sort();

describe('Prometheus discovers tsswarm through the Docker Engine API (dockerswarm_sd_configs)', () => {
  let hosts: TestHosts;
  let sock = '';
  /** Prometheus processes this file started on a host, stopped by PID in after(). */
  const started: ChildProcess[] = [];
  // The CLI's own view of the app stack, the reference for what Prometheus must find.
  let running: TaskRow[] = [];
  let stored = new Map<string, StoredTask>();
  let services = new Map<string, StoredService>();
  let nodes: NodeRow[] = [];
  let networks = new Map<string, string>();
  const containerIds = new Map<string, string>();

  const runningTasks = (stack: string) => hosts.json<TaskRow[]>(['stack', 'ps', stack]).filter((t) => t.desiredState === 'running' && t.state === 'running');

  /** `/api/v1/targets` of a Prometheus, fetched with wget from inside `from`'s network namespace. */
  const targets = (from: TestHost, addr: string): Target[] => {
    const r = hosts.exec(from, 'wget', ['-qO-', `http://${addr}/api/v1/targets`]);
    assert.equal(r.code, 0, `wget http://${addr}/api/v1/targets: ${r.stderr}`);
    const body = JSON.parse(r.stdout) as { status: string; data: { activeTargets: Target[] } };
    assert.equal(body.status, 'success', r.stdout);
    return body.data.activeTargets;
  };
  const ofJob = (all: Target[], job: string) => all.filter((t) => t.scrapePool === `swarm-${job}`).map((t) => t.discoveredLabels);
  /** Targets of the app stack's tasks Docker wants running (what a Swarm user's relabeling keeps). */
  const appTasks = (all: Target[]) => ofJob(all, 'tasks').filter((l) => l[`${META}service_label_com_docker_stack_namespace`] === 'app' && l[`${META}task_desired_state`] === 'running');

  /**
   * What Prometheus's tasks role makes of each running task (discovery/moby/tasks.go): a target
   * per host-mode port the task publishes, at its node's address, and a target per network
   * address and TCP port of its service, at that address and the port's *published* number; the
   * sd config's port when the service has none. `task address network mode` per target.
   */
  const expectedTaskTargets = (): string[] =>
    running.flatMap((t) => {
      const svc = services.get(t.service)!;
      const tcp = svc.spec.endpoint.ports.filter((p) => p.protocol === 'tcp');
      const node = nodes.find((n) => n.id === t.nodeId)!;
      const onHost = tcp.filter((p) => p.mode === 'host').map((p) => `${t.id} ${node.addr}:${p.published} - host`);
      const onNetworks = stored.get(t.id)!.networks.flatMap((n) =>
        tcp.length > 0 ? tcp.map((p) => `${t.id} ${ipOf(n.address)}:${p.published} ${n.networkName} ${p.mode}`) : [`${t.id} ${ipOf(n.address)}:${SD_PORT} ${n.networkName} -`],
      );
      return [...onHost, ...onNetworks];
    });
  const taskTargetKey = (l: Record<string, string>) =>
    `${l[`${META}task_id`]} ${l.__address__} ${l[`${META}network_name`] ?? '-'} ${l[`${META}task_port_publish_mode`] ?? '-'}`;

  /** Waits until `addr`'s Prometheus has discovered every running app task, the app services and the nodes. */
  const discovered = (from: TestHost, addr: string): Promise<Target[]> => {
    const want = sorted(expectedTaskTargets());
    return eventually(`Prometheus at ${addr} to discover the cluster`, () => {
      const all = targets(from, addr);
      assert.deepEqual(sorted(appTasks(all).map(taskTargetKey)), want);
      assert.ok(ofJob(all, 'services').filter((l) => l[`${META}service_label_com_docker_stack_namespace`] === 'app').length >= services.size);
      assert.equal(ofJob(all, 'nodes').length, nodes.length);
      assert.ok(ofJob(all, 'web').length > 0);
      return all;
    }, 90000);
  };

  /** The labels of tasks.go on each target of a running app task, checked against the CLI's view. */
  const checkTaskLabels = (all: Target[]) => {
    for (const l of appTasks(all)) {
      const id = l[`${META}task_id`]!;
      const t = running.find((x) => x.id === id);
      assert.ok(t, `Prometheus found task ${id}, which the CLI does not show running: ${JSON.stringify(l)}`);
      const svc = services.get(t.service)!;
      const node = nodes.find((n) => n.id === t.nodeId)!;
      const want: Record<string, string> = {
        task_state: 'running',
        task_desired_state: 'running',
        // Docker leaves a global task's Slot out; Prometheus prints the zero value.
        task_slot: String(t.slot ?? 0),
        task_container_id: containerIds.get(id)!,
        service_id: svc.id,
        service_name: t.service,
        service_mode: svc.spec.mode,
        service_label_com_example_team: 'metrics',
        node_id: node.id,
        node_hostname: node.hostname,
        node_address: node.addr,
        node_role: node.role,
        node_availability: node.availability,
        node_status: node.status,
        node_platform_os: 'linux',
      };
      if (t.service === 'app_web') want.container_label_com_example_role = 'frontend';
      const net = l[`${META}network_name`];
      if (net !== undefined) {
        // A target on a network carries that network's labels (network.go).
        want.network_id = networks.get(net)!;
        want.network_scope = 'swarm';
        want.network_ingress = String(net === 'ingress');
        want.network_internal = 'false';
      }
      for (const [k, v] of Object.entries(want)) assert.equal(l[`${META}${k}`], v, `${META}${k} of ${l.__address__} (${t.service}, task ${id})`);
      assert.equal(l[`${META}container_label_com_docker_stack_namespace`], 'app');
    }
    // Every running task is there, on each of its networks: 2 replicas and one global task per node.
    const ids = new Set(appTasks(all).map((l) => l[`${META}task_id`]));
    assert.deepEqual(sorted([...ids] as string[]), sorted(running.map((t) => t.id)));
    assert.equal(ids.size, 2 + nodes.length);
    const slots = appTasks(all).filter((l) => l[`${META}service_name`] === 'app_web').map((l) => l[`${META}task_slot`]);
    assert.deepEqual([...new Set(slots)].sort(), ['1', '2']);
  };

  /** services.go: a target per virtual IP and TCP port, at the VIP and the published port. */
  const checkServices = (all: Target[]) => {
    const got = ofJob(all, 'services').filter((l) => l[`${META}service_label_com_docker_stack_namespace`] === 'app');
    const key = (l: Record<string, string>) => `${l[`${META}service_name`]} ${l.__address__} ${l[`${META}network_name`]} ${l[`${META}service_endpoint_port_publish_mode`] ?? '-'}`;
    const want = [...services.values()].flatMap((s) => {
      const tcp = s.spec.endpoint.ports.filter((p) => p.protocol === 'tcp');
      const netName = (id: string) => [...networks].find(([, nid]) => nid === id)![0];
      return s.vips.flatMap((v) => (tcp.length > 0 ? tcp.map((p) => `${s.spec.name} ${v.address}:${p.published} ${netName(v.networkId)} ${p.mode}`) : [`${s.spec.name} ${v.address}:${SD_PORT} ${netName(v.networkId)} -`]));
    });
    assert.deepEqual(sorted(got.map(key)), sorted(want));
    for (const l of got) {
      const s = services.get(l[`${META}service_name`]!)!;
      assert.equal(l[`${META}service_id`], s.id);
      assert.equal(l[`${META}service_mode`], s.spec.mode);
      assert.equal(l[`${META}service_label_com_example_team`], 'metrics');
      assert.equal(l[`${META}service_task_container_image`], running.find((t) => t.service === s.spec.name)!.image);
      // tsswarm's ports have no name (it refuses named ports); Docker's unnamed port has Name ""
      // and Prometheus drops a label whose value is empty.
      assert.equal(l[`${META}service_endpoint_port_name`], undefined);
    }
    assert.deepEqual(sorted([...new Set(got.map((l) => `${l[`${META}service_name`]} ${l[`${META}service_mode`]}`))]), ['app_agent global', 'app_web replicated']);
  };

  /** nodes.go: one target per node, at its address and the sd config's port. */
  const checkNodes = (all: Target[]) => {
    const got = ofJob(all, 'nodes');
    assert.deepEqual(sorted(got.map((l) => l.__address__!)), sorted(nodes.map((n) => `${n.addr}:${SD_PORT}`)));
    for (const n of nodes) {
      const l = got.find((x) => x[`${META}node_id`] === n.id);
      assert.ok(l, `node ${n.hostname} not discovered`);
      assert.equal(l[`${META}node_hostname`], n.hostname);
      assert.equal(l[`${META}node_address`], n.addr);
      assert.equal(l[`${META}node_role`], n.role);
      assert.equal(l[`${META}node_availability`], n.availability);
      assert.equal(l[`${META}node_status`], n.status);
      assert.equal(l[`${META}node_platform_os`], 'linux');
      assert.ok(l[`${META}node_engine_version`], `engine version of ${n.hostname}`);
      if (n.role === 'manager') {
        assert.equal(l[`${META}node_manager_leader`], String(n.manager === 'leader'));
        assert.equal(l[`${META}node_manager_reachability`], 'reachable');
        assert.match(l[`${META}node_manager_address`] ?? '', new RegExp(`^${n.addr.replace(/\./g, '\\.')}:\\d+$`));
      } else {
        // Docker sends no ManagerStatus for a worker: none of its manager labels.
        assert.equal(l[`${META}node_manager_leader`], undefined);
      }
    }
    assert.deepEqual(sorted(got.map((l) => `${l[`${META}node_hostname`]} ${l[`${META}node_role`]} ${l[`${META}node_manager_leader`] ?? '-'}`)), ['host1 manager true', 'host2 worker -']);
  };

  /** The filtered job: the web service's running tasks, no other. */
  const checkFiltered = (all: Target[]) => {
    const web = ofJob(all, 'web');
    assert.deepEqual(sorted(web.map(taskTargetKey)), sorted(appTasks(all).filter((l) => l[`${META}service_name`] === 'app_web').map(taskTargetKey)));
    assert.deepEqual([...new Set(web.map((l) => l[`${META}service_name`]))], ['app_web']);
  };

  /** The first port from `from` up that nothing listens on in the host's network namespace. */
  const freePort = (h: TestHost, from: number): number => {
    const r = hosts.exec(h, 'ss', ['-Hltn']);
    assert.equal(r.code, 0, r.stderr);
    const used = new Set(r.stdout.split('\n').map((l) => Number(/:(\d+)\s/.exec(l)?.[1])));
    let p = from;
    while (used.has(p)) p++;
    return p;
  };

  before(async () => {
    requireRoot();
    if (!fs.existsSync(PROMETHEUS)) assert.fail(`Debian's prometheus is missing (${PROMETHEUS}): run scripts/setup.sh`);
    if (spawnSync('wget', ['--version']).error) assert.fail('wget is missing: run scripts/setup.sh');
    hosts = new TestHosts(2);
    hosts.start();
    hosts.importBusybox();
    sock = path.join(hosts.manager.dataRoot, 'docker.sock');
    const dir = path.join(hosts.root, 'app');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'stack.yml'), APP_STACK);
    hosts.ok(hosts.manager, ['deploy', '-c', path.join(dir, 'stack.yml'), 'app']);
    nodes = hosts.json<NodeRow[]>(['node', 'ls']);
    running = await eventually('the app stack running', () => {
      const r = runningTasks('app');
      return r.length === 2 + nodes.length ? r : null;
    });
    stored = new Map((JSON.parse(hosts.ok(hosts.manager, ['task', 'inspect', ...running.map((t) => t.id)])) as StoredTask[]).map((t) => [t.id, t]));
    services = new Map((JSON.parse(hosts.ok(hosts.manager, ['service', 'inspect', 'app_web', 'app_agent'])) as StoredService[]).map((s) => [s.spec.name, s]));
    networks = new Map(hosts.json<NetworkRow[]>(['network', 'ls']).map((n) => [n.name, n.id]));
    // The container ID a Docker user would match a target with: the Engine API's own for each task.
    for (const t of running) {
      const dt = await engineGet<{ Status: { ContainerStatus?: { ContainerID?: string } } }>(sock, `/tasks/${t.id}`);
      assert.ok(dt.Status.ContainerStatus?.ContainerID, `task ${t.id} has no container ID in the Engine API`);
      containerIds.set(t.id, dt.Status.ContainerStatus.ContainerID);
    }
  });

  after(async () => {
    for (const p of started) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise((resolve) => p.once('exit', resolve));
      process.kill(p.pid!, 'SIGTERM');
      // TSDB shutdown is quick; a hung one must not outlive the test.
      const timer = setTimeout(() => p.exitCode === null && p.signalCode === null && process.kill(p.pid!, 'SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
    }
    hosts?.destroy();
  });

  describe('Prometheus on the manager host, against its docker.sock', () => {
    let addr = '';
    let all: Target[] = [];
    let log = '';

    before(async () => {
      const m = hosts.manager;
      const dir = path.join(hosts.root, 'prometheus-host');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'prometheus.yml'), prometheusConfig(sock));
      addr = `${m.addr}:${freePort(m, 19190)}`;
      log = path.join(dir, 'prometheus.log');
      const out = fs.openSync(log, 'w');
      // nsenter execs Prometheus in place: the child's PID is Prometheus's.
      const p = spawn('nsenter', [`--net=/run/netns/${m.netns}`, PROMETHEUS, `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=${addr}`], { stdio: ['ignore', out, out] });
      fs.closeSync(out);
      started.push(p);
      try {
        all = await discovered(m, addr);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nprometheus log:\n${fs.readFileSync(log, 'utf8').split('\n').slice(-30).join('\n')}`);
      }
    });

    it('the tasks role finds every running task, on each network, with the labels of Docker Swarm', () => {
      checkTaskLabels(all);
    });

    it("the services role finds each service at its virtual IPs and published ports, with its mode and labels", () => {
      checkServices(all);
    });

    it('the nodes role finds both nodes: role, availability, address, the leader', () => {
      checkNodes(all);
    });

    it("a job's filters (service, desired-state) reach the Engine API: only the web service's tasks", () => {
      checkFiltered(all);
    });

    it('discovery never failed: no refresh error in its log', () => {
      assert.doesNotMatch(fs.readFileSync(log, 'utf8'), /level=error.*(discovery|dockerswarm)|Unable to refresh target groups/);
    });
  });

  describe('Prometheus as a task of a stack, the socket bind-mounted from the host', () => {
    let all: Target[] = [];
    let self: TaskRow | undefined;

    before(async () => {
      // An image of Debian's binary and what it links against (ldd: libc and its loader), over
      // busybox so that the task has a shell for a user to look around.
      const ctx = path.join(hosts.root, 'prometheus-image');
      const files = [PROMETHEUS, ...[...spawnSync('ldd', [PROMETHEUS], { encoding: 'utf8' }).stdout.matchAll(/(\/\S+)/g)].map((m) => m[1]!)];
      for (const f of files) {
        fs.mkdirSync(path.join(ctx, 'root', path.dirname(f)), { recursive: true });
        fs.copyFileSync(fs.realpathSync(f), path.join(ctx, 'root', f));
        fs.chmodSync(path.join(ctx, 'root', f), 0o755);
      }
      fs.writeFileSync(path.join(ctx, 'Dockerfile'), `FROM busybox:latest\nCOPY root/ /\nENTRYPOINT ["${PROMETHEUS}"]\n`);
      hosts.ok(hosts.manager, ['build', '-t', 'prom:test', ctx]);

      const dir = path.join(hosts.root, 'mon');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'prometheus.yml'), prometheusConfig('/var/run/docker.sock'));
      fs.writeFileSync(
        path.join(dir, 'stack.yml'),
        [
          'services:',
          '  prometheus:',
          '    image: prom:test',
          '    command: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.listen-address=:9090"]',
          '    volumes:',
          `      - ${sock}:/var/run/docker.sock`,
          '    configs:',
          '      - source: prometheus_yml',
          '        target: /etc/prometheus/prometheus.yml',
          '    ports: ["19090:9090"]',
          '    deploy:',
          // The socket is the manager's: the task must run where it is.
          '      placement: {constraints: [node.role == manager]}',
          'configs:',
          '  prometheus_yml: {file: ./prometheus.yml}',
          '',
        ].join('\n'),
      );
      hosts.ok(hosts.manager, ['deploy', '-c', path.join(dir, 'stack.yml'), 'mon']);
      self = await eventually('Prometheus running as a task', () => runningTasks('mon')[0]);
      // Through the routing mesh, from the other host: the task runs on the manager.
      const worker = hosts.hosts[1]!;
      try {
        all = await discovered(worker, `${worker.addr}:19090`);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nits log:\n${hosts.cli(hosts.manager, ['service', 'logs', 'mon_prometheus']).stdout.split('\n').slice(-30).join('\n')}`);
      }
    });

    it('runs on the manager, the socket bind-mounted', () => {
      assert.equal(self?.node, 'host1');
      const st = inContainer(self!.pid!, ['stat', '-c', '%F', '/var/run/docker.sock']);
      assert.equal(st.code, 0, st.stderr);
      assert.equal(st.stdout.trim(), 'socket');
    });

    it('finds the same tasks, services and nodes as Prometheus on the host', () => {
      checkTaskLabels(all);
      checkServices(all);
      checkNodes(all);
      checkFiltered(all);
    });

    it('finds itself: its own task, running on the manager', () => {
      const mine = ofJob(all, 'tasks').filter((l) => l[`${META}task_id`] === self!.id);
      assert.ok(mine.length > 0, JSON.stringify(ofJob(all, 'tasks').map((l) => l.__address__)));
      for (const l of mine) {
        assert.equal(l[`${META}service_name`], 'mon_prometheus');
        assert.equal(l[`${META}task_state`], 'running');
        assert.equal(l[`${META}node_hostname`], 'host1');
        assert.equal(l[`${META}node_role`], 'manager');
        assert.equal(l[`${META}task_port_publish_mode`], 'ingress');
      }
    });
  });
});
