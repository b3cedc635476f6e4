import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadStackFile, loadStackText } from '../../../../shared/compose';
import { InvalidArgumentError } from '../../../../shared/errors';
import { defaultContainerSpec, taskSpecOf } from '../../../../shared/task-spec';
import type { ServiceSpec } from '../../../../shared/types';
import { defaultRuntimeSettings } from '../../../../shared/types';
import { NetworkNotFoundError } from '../../../../manager/api/networks';
import { fromDockerServiceSpec, type SpecRefs, toDockerServiceSpec, toDockerTaskSpec, withDockerDefaults } from '../../../../manager/docker-api/service-spec';

const NS = 'com.docker.stack.namespace';
const examples = path.resolve(__dirname, '..', '..', '..', '..', '..', 'compose-examples');
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** Networks `<name>` with id `id-<name>`, plus Docker's predefined `host`. */
const refs: SpecRefs = {
  networkId: (name) => `id-${name}`,
  networkName: (target) => (target.startsWith('id-') ? target.slice(3) : ['front', 'back', 'x_default', 'host'].includes(target) ? target : null),
  networkSubnet: () => '10.0.1.0/24',
};

/** What a client receives and sends back: JSON, not the object. */
const wire = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
const roundTrip = (s: ServiceSpec): ServiceSpec => fromDockerServiceSpec(wire(toDockerServiceSpec(s, refs)), refs);

function compose(yaml: string): ServiceSpec {
  const d = loadStackText(yaml, { name: 'x', env: {}, filename: 'stack.yml', dir: '/tmp', dotenv: {} });
  assert.deepEqual(d.warnings, []);
  return d.services[0]!;
}

function plain(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: 'web',
    stack: null,
    mode: 'replicated',
    replicas: 1,
    task: taskSpecOf(defaultContainerSpec('busybox:latest')),
    labels: {},
    networks: [],
    endpoint: { mode: 'vip', ports: [] },
    update: null,
    rollback: null,
    ...over,
  };
}

/** A spec with every field off its default. */
function rich(): ServiceSpec {
  const s = plain({ name: 's_api', stack: 's', labels: { [NS]: 's', team: 'a' }, replicas: 4 });
  s.task = {
    container: {
      ...defaultContainerSpec(`registry.example:5000/team/api:1.2@${DIGEST}`),
      command: ['serve', '--port', '80'],
      entrypoint: ['/bin/api'],
      env: ['A=1', 'B='],
      workingDir: '/srv',
      user: '1000:1000',
      hostname: '{{.Service.Name}}-{{.Task.Slot}}',
      stopGracePeriodMs: 2500,
      dns: ['10.0.0.2'],
      dnsSearch: ['example.com'],
      extraHosts: ['db:10.0.0.9', 'v6:::1'],
      runtime: {
        capAdd: ['CAP_NET_ADMIN'],
        capDrop: ['ALL'],
        privileged: true,
        devices: [{ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', permissions: 'rw' }],
        sysctls: { 'net.ipv4.ip_forward': '1' },
        ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }, { name: 'core', soft: Number.MAX_SAFE_INTEGER, hard: Number.MAX_SAFE_INTEGER }],
        readOnly: true,
        init: true,
        tmpfs: [{ target: '/run', sizeBytes: 65536, mode: 0o1777, options: ['exec'] }],
        shmSizeBytes: 134217728,
        stopSignal: 'SIGQUIT',
        noNewPrivileges: true,
        seccomp: { mode: 'custom', profile: '{"defaultAction":"SCMP_ACT_ALLOW"}' },
        oomScoreAdj: -100,
        usernsMode: 'host',
      },
      labels: { [NS]: 's', role: 'api' },
      mounts: [
        { type: 'bind', source: '/srv/data', target: '/data', readOnly: true, bind: { propagation: 'rslave', createHostPath: true }, volume: null, tmpfs: null },
        { type: 'volume', source: 's_cache', target: '/cache', readOnly: false, bind: null, volume: { noCopy: true, labels: { [NS]: 's' }, driver: { name: 'local', options: { type: 'tmpfs' } } }, tmpfs: null },
        { type: 'volume', source: '', target: '/anon', readOnly: false, bind: null, volume: { noCopy: false, labels: {}, driver: null }, tmpfs: null },
        { type: 'tmpfs', source: '', target: '/scratch', readOnly: false, bind: null, volume: null, tmpfs: { sizeBytes: 1048576, mode: 0o700 } },
      ],
      secrets: [{ secretId: 'sec1', secretName: 's_pw', file: { name: 'pw', uid: '1000', gid: '1000', mode: 0o400 } }],
      configs: [{ configId: 'cfg1', configName: 's_conf', file: { name: '/etc/api.conf', uid: '0', gid: '0', mode: 0o444 } }],
      healthcheck: { test: ['CMD-SHELL', 'wget -q -O- localhost || exit 1'], intervalMs: 5000, timeoutMs: 2000, startPeriodMs: 1000, startIntervalMs: 500, retries: 2 },
      tty: true,
      openStdin: true,
    },
    hostNetwork: false,
    resources: { limits: { memoryBytes: 64 << 20, nanoCpus: 500_000_000, pids: 100 }, reservations: { memoryBytes: 32 << 20, nanoCpus: 250_000_000, generic: { gpu: 2 } } },
    placement: { constraints: ['node.role==worker', 'node.labels.zone!=west'], preferences: [{ spread: 'node.labels.zone' }], maxReplicas: 2 },
    restartPolicy: { condition: 'on-failure', delayMs: 3000, maxAttempts: 5, windowMs: 60000 },
    logDriver: { name: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } },
    forceUpdate: 7,
  };
  s.networks = [{ target: 'front', aliases: ['api'] }, { target: 'back', aliases: [] }];
  s.endpoint = { mode: 'vip', ports: [{ target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' }, { target: 53, published: null, protocol: 'udp', mode: 'host' }] };
  s.update = { parallelism: 2, delayMs: 10000, failureAction: 'rollback', monitorMs: 30000, maxFailureRatio: 0.25, order: 'start-first' };
  s.rollback = { parallelism: 0, delayMs: 0, failureAction: 'continue', monitorMs: null, maxFailureRatio: 0, order: 'stop-first' };
  s.dependsOn = [{ service: 's_db', condition: 'service_healthy' }];
  s.rebalance = 'auto';
  return s;
}

describe('Docker service spec round trip', () => {
  const stacks = fs.readdirSync(examples, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  it('has the compose examples', () => assert.ok(stacks.length >= 5));
  for (const name of stacks) {
    for (const s of loadStackFile(path.join(examples, name, 'stack.yml'), { name: null, env: {} }).services) {
      it(`compose-examples/${name}: ${s.name}`, () => assert.deepEqual(roundTrip(s), s));
    }
  }
  const hand: [string, () => ServiceSpec][] = [
    ['every field set', rich],
    ['a plain service', () => plain()],
    ['global on the host network, dnsrr, host ports', () => {
      const s = plain({ mode: 'global', replicas: 0, endpoint: { mode: 'dnsrr', ports: [{ target: 9100, published: 9100, protocol: 'tcp', mode: 'host' }] } });
      s.task = { ...s.task, hostNetwork: true };
      return s;
    }],
    ['default seccomp off, empty command and entrypoint', () => {
      const s = plain();
      s.task.container = { ...s.task.container, command: [], entrypoint: [], runtime: { ...defaultRuntimeSettings(), seccomp: { mode: 'unconfined', profile: null } }, healthcheck: { test: ['NONE'], intervalMs: null, timeoutMs: null, startPeriodMs: null, startIntervalMs: null, retries: null } };
      s.task.restartPolicy = { condition: 'none', delayMs: 0, maxAttempts: null, windowMs: null };
      s.update = { parallelism: 1, delayMs: 0, failureAction: 'pause', monitorMs: 0, maxFailureRatio: 0, order: 'stop-first' };
      return s;
    }],
  ];
  for (const [name, make] of hand) it(name, () => assert.deepEqual(roundTrip(make()), make()));
});

describe('toDockerServiceSpec', () => {
  const d = toDockerServiceSpec(rich(), refs);
  const c = d.TaskTemplate!.ContainerSpec!;
  it('uses Docker’s names, nanoseconds and ids', () => {
    assert.deepEqual(d.Mode, { Replicated: { Replicas: 4 } });
    assert.equal(c.StopGracePeriod, 2_500_000_000);
    assert.equal(d.UpdateConfig!.Delay, 10_000_000_000);
    assert.deepEqual(d.TaskTemplate!.Networks, [{ Target: 'id-front', Aliases: ['api'] }, { Target: 'id-back' }]);
    assert.equal(d.TaskTemplate!.Runtime, 'container');
  });
  it('puts the entrypoint in Command and the command in Args', () => {
    assert.deepEqual(c.Command, ['/bin/api']);
    assert.deepEqual(c.Args, ['serve', '--port', '80']);
  });
  it('writes hosts as hosts(5) lines', () => assert.deepEqual(c.Hosts, ['10.0.0.9 db', '::1 v6']));
  it('keeps what Docker has no field for under x-tsswarm', () => {
    assert.deepEqual(d['x-tsswarm'], { DependsOn: [{ Service: 's_db', Condition: 'service_healthy' }], Rebalance: 'auto' });
    assert.equal(c['x-tsswarm']!.Privileged, true);
    assert.equal(c['x-tsswarm']!.ShmSize, 134217728);
    assert.equal(Buffer.from(c.Privileges!.Seccomp!.Profile!, 'base64').toString(), '{"defaultAction":"SCMP_ACT_ALLOW"}');
  });
  it('leaves defaults out as Go’s omitempty does', () => {
    const p = toDockerServiceSpec(plain(), refs);
    assert.deepEqual(p, {
      Name: 'web',
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', StopGracePeriod: 10_000_000_000 }, Resources: { Limits: {}, Reservations: {} }, Placement: {}, ForceUpdate: 0, Runtime: 'container' },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Mode: 'vip' },
    });
  });
  it('shows the host network by its id', () => {
    const t = taskSpecOf(defaultContainerSpec('busybox:latest'));
    assert.deepEqual(toDockerTaskSpec({ ...t, hostNetwork: true }, [], refs).Networks, [{ Target: 'id-host' }]);
  });
});

describe('fromDockerServiceSpec: absent fields are the compose loader’s defaults', () => {
  // Each: a stack-file service, and the Docker JSON saying the same (stack x, its default network).
  const cases: { name: string; yaml: string; container?: Record<string, unknown>; task?: Record<string, unknown>; spec?: Record<string, unknown> }[] = [
    { name: 'nothing but an image', yaml: 'image: busybox' },
    { name: 'deploy: {} and empty sections', yaml: 'image: busybox\ndeploy: {}' },
    { name: 'restart_policy: {}', yaml: 'image: busybox\ndeploy:\n  restart_policy: {}', task: { RestartPolicy: {} } },
    { name: 'update_config with parallelism only', yaml: 'image: busybox\ndeploy:\n  update_config: {parallelism: 2}', spec: { UpdateConfig: { Parallelism: 2, FailureAction: 'pause', MaxFailureRatio: 0, Order: 'stop-first' } } },
    { name: 'rollback_config', yaml: 'image: busybox\ndeploy:\n  rollback_config: {parallelism: 1, delay: 5s}', spec: { RollbackConfig: { Parallelism: 1, Delay: 5e9 } } },
    { name: 'logging without a driver', yaml: 'image: busybox\nlogging:\n  options: {max-size: 1m}', task: { LogDriver: { Options: { 'max-size': '1m' } } } },
    { name: 'global', yaml: 'image: busybox\ndeploy: {mode: global}', spec: { Mode: { Global: {} } } },
    { name: 'replicas', yaml: 'image: busybox\ndeploy: {replicas: 5}', spec: { Mode: { Replicated: { Replicas: 5 } } } },
    { name: 'command and entrypoint', yaml: 'image: busybox\nentrypoint: [sh, -c]\ncommand: echo hi', container: { Command: ['sh', '-c'], Args: ['echo', 'hi'] } },
    { name: 'extra_hosts', yaml: 'image: busybox\nextra_hosts: ["db:10.0.0.9"]', container: { Hosts: ['10.0.0.9 db'] } },
    { name: 'a published port', yaml: 'image: busybox\nports: ["8080:80"]', spec: { EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } } },
    { name: 'a port the cluster picks', yaml: 'image: busybox\nports: ["80"]', spec: { EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 0, PublishMode: 'ingress' }] } } },
    { name: 'healthcheck test only', yaml: 'image: busybox\nhealthcheck: {test: "true"}', container: { Healthcheck: { Test: ['CMD-SHELL', 'true'] } } },
    { name: 'an anonymous volume', yaml: 'image: busybox\nvolumes: ["/data"]', container: { Mounts: [{ Type: 'volume', Target: '/data' }] } },
    { name: 'a bind', yaml: 'image: busybox\nvolumes: ["/srv:/srv:ro"]', container: { Mounts: [{ Type: 'bind', Source: '/srv', Target: '/srv', ReadOnly: true }] } },
    { name: 'cap_add', yaml: 'image: busybox\ncap_add: [net_admin]', container: { CapabilityAdd: ['NET_ADMIN'] } },
    { name: 'stop_signal and init', yaml: 'image: busybox\nstop_signal: QUIT\ninit: true', container: { StopSignal: 'SIGQUIT', Init: true } },
    { name: 'resources', yaml: 'image: busybox\ndeploy:\n  resources:\n    limits: {memory: 64m}\n    reservations: {cpus: "0.5"}', task: { Resources: { Limits: { MemoryBytes: 64 << 20 }, Reservations: { NanoCPUs: 5e8 } } } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const body = {
        Name: 'x_web',
        Labels: { [NS]: 'x' },
        TaskTemplate: { ContainerSpec: { Image: 'busybox', Labels: { [NS]: 'x' }, ...c.container }, Networks: [{ Target: 'id-x_default' }], ...c.task },
        ...c.spec,
      };
      assert.deepEqual(fromDockerServiceSpec(body, refs), compose(`services:\n  web:\n${c.yaml.replace(/^/gm, '    ')}\n`));
    });
  }
});

describe('fromDockerServiceSpec: what docker service create sends', () => {
  // `docker service create --name web --replicas 3 --publish 8080:80 --env A=1
  //   --mount type=volume,source=v,target=/data --secret s1 --constraint node.role==manager
  //   --limit-memory 64m --update-parallelism 2 busybox:latest sleep 1000`, as docker/cli 20.10's
  // ToService builds it (the image pinned by the CLI, the secret's id looked up by it).
  const body = {
    Name: 'web',
    Labels: {},
    TaskTemplate: {
      ContainerSpec: {
        Image: `busybox:latest@${DIGEST}`,
        Args: ['sleep', '1000'],
        Env: ['A=1'],
        Init: false,
        Mounts: [{ Type: 'volume', Source: 'v', Target: '/data' }],
        DNSConfig: {},
        Secrets: [{ File: { Name: 's1', UID: '0', GID: '0', Mode: 292 }, SecretID: 'k3y5ecr3t1d', SecretName: 's1' }],
      },
      Resources: { Limits: { MemoryBytes: 67108864 }, Reservations: {} },
      Placement: { Constraints: ['node.role==manager'] },
      ForceUpdate: 0,
    },
    Mode: { Replicated: { Replicas: 3 } },
    UpdateConfig: { Parallelism: 2, FailureAction: 'pause', Monitor: 5_000_000_000, MaxFailureRatio: 0, Order: 'stop-first' },
    EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] },
  };
  it('is the spec tsswarm would store', () => {
    const want = plain({ replicas: 3 });
    want.task.container = {
      ...want.task.container,
      image: `busybox:latest@${DIGEST}`,
      command: ['sleep', '1000'],
      env: ['A=1'],
      mounts: [{ type: 'volume', source: 'v', target: '/data', readOnly: false, bind: null, volume: { noCopy: false, labels: {}, driver: null }, tmpfs: null }],
      secrets: [{ secretId: 'k3y5ecr3t1d', secretName: 's1', file: { name: 's1', uid: '0', gid: '0', mode: 0o444 } }],
    };
    want.task.resources.limits.memoryBytes = 64 << 20;
    want.task.placement.constraints = ['node.role==manager'];
    want.update = { parallelism: 2, delayMs: 0, failureAction: 'pause', monitorMs: 5000, maxFailureRatio: 0, order: 'stop-first' };
    want.endpoint = { mode: 'vip', ports: [{ target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' }] };
    assert.deepEqual(fromDockerServiceSpec(body, refs), want);
  });
  it('reads network names and ids, and the deprecated top-level Networks', () => {
    const byName = { ...body, TaskTemplate: { ...body.TaskTemplate, Networks: [{ Target: 'front', Aliases: ['w'] }, { Target: 'id-back' }] } };
    assert.deepEqual(fromDockerServiceSpec(byName, refs).networks, [{ target: 'front', aliases: ['w'] }, { target: 'back', aliases: [] }]);
    assert.deepEqual(fromDockerServiceSpec({ ...body, Networks: [{ Target: 'back' }] }, refs).networks, [{ target: 'back', aliases: [] }]);
    const host = fromDockerServiceSpec({ ...body, EndpointSpec: {}, TaskTemplate: { ...body.TaskTemplate, Networks: [{ Target: 'host' }] } }, refs);
    assert.equal(host.task.hostNetwork, true);
    assert.deepEqual(host.networks, []);
  });
  it('accepts and ignores Platforms', () => {
    const b = { ...body, TaskTemplate: { ...body.TaskTemplate, Placement: { Platforms: [{ Architecture: 'amd64', OS: 'linux' }] } } };
    assert.deepEqual(fromDockerServiceSpec(b, refs).task.placement, { constraints: [], preferences: [], maxReplicas: 0 });
  });
});

describe('fromDockerServiceSpec: what a v1.41 client cannot send is kept from the current spec', () => {
  const current = rich();
  // What docker/cli 20.10 sends back on `service update --replicas 6`: the v1.41 fields of what it read.
  const sent = wire(toDockerServiceSpec(current, refs)) as Record<string, any>;
  delete sent['x-tsswarm'];
  const c = sent.TaskTemplate.ContainerSpec;
  delete c['x-tsswarm'];
  delete c.OomScoreAdj;
  delete c.Privileges;
  delete c.Healthcheck.StartInterval;
  delete c.Mounts[0].BindOptions.CreateMountpoint;
  sent.Mode.Replicated.Replicas = 6;
  it('with current: everything else unchanged', () => assert.deepEqual(fromDockerServiceSpec(sent, refs, current), { ...current, replicas: 6 }));
  it('without current (a create): the defaults', () => {
    const s = fromDockerServiceSpec(sent, refs);
    assert.equal(s.dependsOn, undefined);
    assert.equal(s.rebalance, undefined);
    assert.deepEqual(s.task.container.runtime, { ...current.task.container.runtime, privileged: false, devices: [], tmpfs: [], shmSizeBytes: null, usernsMode: null, oomScoreAdj: null, noNewPrivileges: false, seccomp: { mode: 'default', profile: null } });
    assert.equal(s.task.container.mounts[0]!.bind!.createHostPath, false);
    assert.equal(s.task.container.healthcheck!.startIntervalMs, null);
  });
  it('a client that sends them sets them, to defaults too', () => {
    const b = wire(sent) as Record<string, any>;
    b['x-tsswarm'] = {};
    b.TaskTemplate.ContainerSpec['x-tsswarm'] = {};
    b.TaskTemplate.ContainerSpec.Privileges = { NoNewPrivileges: false, Seccomp: { Mode: 'default' } };
    const s = fromDockerServiceSpec(b, refs, current);
    assert.equal(s.dependsOn, undefined);
    assert.equal(s.task.container.runtime.privileged, false);
    assert.equal(s.task.container.runtime.noNewPrivileges, false);
    assert.deepEqual(s.task.container.runtime.seccomp, { mode: 'default', profile: null });
    assert.equal(s.task.container.runtime.oomScoreAdj, -100); // absent: kept
  });
});

describe('fromDockerServiceSpec refuses what tsswarm cannot do', () => {
  const base = (): Record<string, any> => ({ Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } });
  const cases: { name: string; edit: (b: Record<string, any>) => void; message: RegExp }[] = [
    { name: 'not an object', edit: () => {}, message: /^invalid service spec: must be a JSON object$/ },
    { name: 'no container spec', edit: (b) => delete b.TaskTemplate.ContainerSpec, message: /^invalid TaskTemplate\.ContainerSpec: missing/ },
    { name: 'no image', edit: (b) => (b.TaskTemplate.ContainerSpec.Image = ''), message: /^invalid TaskTemplate\.ContainerSpec\.Image: missing/ },
    { name: 'a bad image', edit: (b) => (b.TaskTemplate.ContainerSpec.Image = 'Bad Image'), message: /^invalid TaskTemplate\.ContainerSpec\.Image: invalid image reference/ },
    { name: 'a replicated job', edit: (b) => (b.Mode = { ReplicatedJob: { MaxConcurrent: 1 } }), message: /^invalid Mode: job services are not supported by tsswarm$/ },
    { name: 'a global job', edit: (b) => (b.Mode = { GlobalJob: {} }), message: /^invalid Mode: job services are not supported by tsswarm$/ },
    { name: 'two modes', edit: (b) => (b.Mode = { Replicated: {}, Global: {} }), message: /^invalid Mode: give one of Replicated or Global$/ },
    { name: 'negative replicas', edit: (b) => (b.Mode = { Replicated: { Replicas: -1 } }), message: /^invalid Mode\.Replicated\.Replicas: must be a non-negative integer/ },
    { name: 'env not strings', edit: (b) => (b.TaskTemplate.ContainerSpec.Env = [1]), message: /^invalid TaskTemplate\.ContainerSpec\.Env: must be a list of strings/ },
    { name: 'groups', edit: (b) => (b.TaskTemplate.ContainerSpec.Groups = ['wheel']), message: /Groups: supplementary groups are not supported/ },
    { name: 'a credential spec', edit: (b) => (b.TaskTemplate.ContainerSpec.Privileges = { CredentialSpec: { File: 'x.json' } }), message: /Privileges\.CredentialSpec: credential specs/ },
    { name: 'an SELinux label', edit: (b) => (b.TaskTemplate.ContainerSpec.Privileges = { SELinuxContext: { Type: 'svirt_t' } }), message: /Privileges\.SELinuxContext: SELinux labels are not supported/ },
    { name: 'a bad seccomp profile', edit: (b) => (b.TaskTemplate.ContainerSpec.Privileges = { Seccomp: { Mode: 'custom', Profile: Buffer.from('{}').toString('base64') } }), message: /Privileges\.Seccomp\.Profile: .*defaultAction/ },
    { name: 'hyperv isolation', edit: (b) => (b.TaskTemplate.ContainerSpec.Isolation = 'hyperv'), message: /Isolation: only the default isolation/ },
    { name: 'a plugin runtime', edit: (b) => (b.TaskTemplate.Runtime = 'plugin'), message: /^invalid TaskTemplate\.Runtime: only container tasks/ },
    { name: 'a plugin spec', edit: (b) => (b.TaskTemplate.PluginSpec = { Name: 'p' }), message: /^invalid TaskTemplate\.PluginSpec/ },
    { name: 'network driver options', edit: (b) => (b.TaskTemplate.Networks = [{ Target: 'front', DriverOpts: { a: 'b' } }]), message: /Networks\[0\]\.DriverOpts: per-service driver options are not supported/ },
    { name: 'host with another network', edit: (b) => (b.TaskTemplate.Networks = [{ Target: 'host' }, { Target: 'front' }]), message: /the host network cannot be combined/ },
    { name: 'a network twice', edit: (b) => (b.TaskTemplate.Networks = [{ Target: 'front' }, { Target: 'id-front' }]), message: /network front is listed twice/ },
    { name: 'sctp', edit: (b) => (b.EndpointSpec = { Ports: [{ Protocol: 'sctp', TargetPort: 80 }] }), message: /^invalid EndpointSpec\.Ports\[0\]\.Protocol: sctp is not supported/ },
    { name: 'a port out of range', edit: (b) => (b.EndpointSpec = { Ports: [{ TargetPort: 70000 }] }), message: /TargetPort: must be a port number/ },
    { name: 'a bad publish mode', edit: (b) => (b.EndpointSpec = { Ports: [{ TargetPort: 80, PublishMode: 'mesh' }] }), message: /PublishMode: must be ingress or host, got "mesh"/ },
    { name: 'dnsrr with an ingress port', edit: (b) => (b.EndpointSpec = { Mode: 'dnsrr', Ports: [{ TargetPort: 80 }] }), message: /can't be used with dnsrr mode/ },
    { name: 'a named generic resource', edit: (b) => (b.TaskTemplate.Resources = { Reservations: { GenericResources: [{ NamedResourceSpec: { Kind: 'gpu', Value: 'GPU-1' } }] } }), message: /NamedResourceSpec: named generic resources are not supported/ },
    { name: 'a reservation above the limit', edit: (b) => (b.TaskTemplate.Resources = { Limits: { MemoryBytes: 1 << 20 }, Reservations: { MemoryBytes: 2 << 20 } }), message: /Reservations\.MemoryBytes: the memory reservation/ },
    { name: 'a bad constraint', edit: (b) => (b.TaskTemplate.Placement = { Constraints: ['node.role=manager'] }), message: /^invalid TaskTemplate\.Placement\.Constraints\[0\]: / },
    { name: 'a bad spread', edit: (b) => (b.TaskTemplate.Placement = { Preferences: [{ Spread: { SpreadDescriptor: 'zone' } }] }), message: /SpreadDescriptor: invalid spread key "zone"/ },
    { name: 'a bad restart condition', edit: (b) => (b.TaskTemplate.RestartPolicy = { Condition: 'always' }), message: /RestartPolicy\.Condition: must be none, on-failure or any/ },
    { name: 'a negative delay', edit: (b) => (b.TaskTemplate.RestartPolicy = { Delay: -1 }), message: /RestartPolicy\.Delay: must be a non-negative number of nanoseconds/ },
    { name: 'a log driver tsswarm lacks', edit: (b) => (b.TaskTemplate.LogDriver = { Name: 'syslog' }), message: /LogDriver\.Name: log driver syslog is not supported/ },
    { name: 'a rollback that rolls back', edit: (b) => (b.RollbackConfig = { Parallelism: 1, FailureAction: 'rollback' }), message: /^invalid RollbackConfig\.FailureAction: must be pause or continue/ },
    { name: 'a failure ratio above 1', edit: (b) => (b.UpdateConfig = { MaxFailureRatio: 2 }), message: /UpdateConfig\.MaxFailureRatio: must be a number from 0 to 1/ },
    { name: 'an npipe mount', edit: (b) => (b.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'npipe', Source: 'x', Target: '/x' }]), message: /Mounts\[0\]\.Type: mounts of type npipe are not supported/ },
    { name: 'a relative bind', edit: (b) => (b.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'bind', Source: 'data', Target: '/x' }]), message: /Mounts\[0\]\.Source: a bind needs an absolute host path/ },
    { name: 'bind options on a volume', edit: (b) => (b.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'volume', Target: '/x', BindOptions: {} }]), message: /Mounts\[0\]\.BindOptions: options for a bind mount on a volume mount/ },
    { name: 'two mounts on one target', edit: (b) => (b.TaskTemplate.ContainerSpec.Mounts = [{ Type: 'volume', Target: '/x' }, { Type: 'tmpfs', Target: '/x/' }]), message: /Mounts\[1\]\.Target: two mounts on \/x/ },
    { name: 'a secret without a file', edit: (b) => (b.TaskTemplate.ContainerSpec.Secrets = [{ SecretName: 's' }]), message: /Secrets\[0\]\.File: missing/ },
    { name: 'a credential-spec config', edit: (b) => (b.TaskTemplate.ContainerSpec.Configs = [{ ConfigName: 'c', Runtime: {} }]), message: /Configs\[0\]\.Runtime: configs used as credential specs/ },
    { name: 'a hosts line in the wrong form', edit: (b) => (b.TaskTemplate.ContainerSpec.Hosts = ['db:10.0.0.1']), message: /Hosts\[0\]: must be "IP_address hostname/ },
    { name: 'resolver options', edit: (b) => (b.TaskTemplate.ContainerSpec.DNSConfig = { Options: ['ndots:2'] }), message: /DNSConfig\.Options: resolver options are not supported/ },
    { name: 'a host sysctl', edit: (b) => (b.TaskTemplate.ContainerSpec.Sysctls = { 'vm.swappiness': '1' }), message: /Sysctls\.vm\.swappiness: only namespaced sysctls/ },
    { name: 'an unknown capability', edit: (b) => (b.TaskTemplate.ContainerSpec.CapabilityAdd = ['CAP_FLY']), message: /CapabilityAdd\[0\]: unknown capability "CAP_FLY"/ },
    { name: 'an unknown signal', edit: (b) => (b.TaskTemplate.ContainerSpec.StopSignal = 'SIGNOPE'), message: /StopSignal: unknown signal/ },
    { name: 'a soft ulimit above the hard one', edit: (b) => (b.TaskTemplate.ContainerSpec.Ulimits = [{ Name: 'nofile', Soft: 10, Hard: 5 }]), message: /Ulimits\[0\]: soft limit 10 is above the hard limit 5/ },
    { name: 'a bad health test', edit: (b) => (b.TaskTemplate.ContainerSpec.Healthcheck = { Test: ['CMD'] }), message: /Healthcheck\.Test: must be \[\]/ },
    { name: 'a relative working dir', edit: (b) => (b.TaskTemplate.ContainerSpec.Dir = 'srv'), message: /Dir: must be an absolute path/ },
    { name: 'a bad userns mode', edit: (b) => (b.TaskTemplate.ContainerSpec['x-tsswarm'] = { UsernsMode: 'private' }), message: /x-tsswarm\.UsernsMode: must be "host"/ },
    { name: 'a bad dependency condition', edit: (b) => (b['x-tsswarm'] = { DependsOn: [{ Service: 'db', Condition: 'up' }] }), message: /^invalid x-tsswarm\.DependsOn\[0\]\.Condition: must be service_started/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const b = base();
      c.edit(b);
      const body = c.name === 'not an object' ? [b] : b;
      assert.throws(() => fromDockerServiceSpec(body, refs), (e: unknown) => e instanceof InvalidArgumentError && c.message.test(e.message) && !e.message.includes('\n'));
    });
  }
  it('a network that does not exist is not found', () => {
    const b = base();
    b.TaskTemplate.Networks = [{ Target: 'nope' }];
    assert.throws(() => fromDockerServiceSpec(b, refs), (e: unknown) => e instanceof NetworkNotFoundError && e.message === 'network nope not found');
  });
});

describe('withDockerDefaults', () => {
  it('fills in what the daemon would, tsswarm’s values where they differ', () => {
    const d = withDockerDefaults(toDockerServiceSpec(plain(), refs));
    const t = d.TaskTemplate!;
    assert.deepEqual(t.RestartPolicy, { Condition: 'any', Delay: 1_000_000_000, MaxAttempts: 0 });
    assert.equal(t.ContainerSpec!.StopGracePeriod, 10_000_000_000);
    assert.equal(t.ContainerSpec!.Isolation, 'default');
    const update = { Parallelism: 1, FailureAction: 'pause', Monitor: 5_000_000_000, MaxFailureRatio: 0, Order: 'stop-first' };
    assert.deepEqual(d.UpdateConfig, update);
    assert.deepEqual(d.RollbackConfig, update);
    assert.deepEqual(d.EndpointSpec, { Mode: 'vip' });
  });
  it('keeps what is set and does not touch its argument', () => {
    const given = toDockerServiceSpec(rich(), refs);
    const before = structuredClone(given);
    const d = withDockerDefaults(given);
    assert.deepEqual(given, before);
    assert.deepEqual(d.UpdateConfig, given.UpdateConfig);
    assert.equal(d.RollbackConfig!.Monitor, 5_000_000_000);
    assert.deepEqual(d.TaskTemplate!.RestartPolicy, given.TaskTemplate!.RestartPolicy);
  });
  it('reads back as the same service', () => {
    const s = rich();
    const back = fromDockerServiceSpec(wire(withDockerDefaults(toDockerServiceSpec(s, refs))), refs);
    assert.deepEqual({ ...back, rollback: s.rollback }, s);
  });
});
