import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ComposeError } from '../../../shared/errors';
import { defaultRuntimeSettings } from '../../../shared/types';
import { loadStackFile } from '../../../shared/compose';
import { assertFails, load, service, yaml } from './helpers';

describe('loadStackText: conversion', () => {
  it('converts a full stack', () => {
    const stack = load(
      yaml`
        version: "3.8"
        services:
          web:
            image: nginx
            command: ["nginx", "-g", "daemon off;"]
            entrypoint: /docker-entrypoint.sh --verbose
            environment:
              - MODE=production
              - PASSTHROUGH
              - NOT_SET
              - EMPTY=
            working_dir: /srv
            user: "1000:1000"
            hostname: web-1
            stop_grace_period: 1m30s
            deploy:
              mode: replicated
              replicas: 2
              resources:
                limits:
                  memory: 512M
                  cpus: '0.5'
                  pids: 200
          worker:
            image: registry.local:5000/team/worker:1.2
            environment:
              NUM: 1.0
              FLAG: true
              HEX: 0x10
              FROM_ENV: null
              TEXT: hello world
            deploy:
              mode: global
      `,
      { env: { PASSTHROUGH: 'from-env', FROM_ENV: 'yes' } },
    );
    assert.equal(stack.name, 'test');
    assert.deepEqual(stack.warnings, []);
    assert.deepEqual(service(stack, 'test_web'), {
      name: 'test_web',
      stack: 'test',
      mode: 'replicated',
      replicas: 2,
      task: {
        container: {
          image: 'nginx:latest',
          command: ['nginx', '-g', 'daemon off;'],
          entrypoint: ['/docker-entrypoint.sh', '--verbose'],
          env: ['MODE=production', 'PASSTHROUGH=from-env', 'EMPTY='],
          workingDir: '/srv',
          user: '1000:1000',
          hostname: 'web-1',
          stopGracePeriodMs: 90_000,
          dns: [],
          dnsSearch: [],
          extraHosts: [],
          runtime: defaultRuntimeSettings(),
          labels: { 'com.docker.stack.namespace': 'test' },
          mounts: [],
          secrets: [],
          configs: [],
          healthcheck: null,
        },
        hostNetwork: false,
        resources: { limits: { memoryBytes: 512 * 1024 * 1024, nanoCpus: 500_000_000, pids: 200 }, reservations: { memoryBytes: null, nanoCpus: null, generic: {} } },
        placement: { constraints: [], preferences: [], maxReplicas: 0 },
        restartPolicy: null,
        logDriver: null,
        forceUpdate: 0,
      },
      labels: { 'com.docker.stack.namespace': 'test' },
      networks: [{ target: 'test_default', aliases: [] }],
      endpoint: { mode: 'vip', ports: [] },
      update: null,
      rollback: null,
    });
    assert.deepEqual(service(stack, 'test_worker'), {
      name: 'test_worker',
      stack: 'test',
      mode: 'global',
      replicas: 0,
      task: {
        container: {
          image: 'registry.local:5000/team/worker:1.2',
          command: null,
          entrypoint: null,
          env: ['NUM=1.0', 'FLAG=true', 'HEX=0x10', 'FROM_ENV=yes', 'TEXT=hello world'],
          workingDir: null,
          user: null,
          hostname: null,
          stopGracePeriodMs: 10_000,
          dns: [],
          dnsSearch: [],
          extraHosts: [],
          runtime: defaultRuntimeSettings(),
          labels: { 'com.docker.stack.namespace': 'test' },
          mounts: [],
          secrets: [],
          configs: [],
          healthcheck: null,
        },
        hostNetwork: false,
        resources: { limits: { memoryBytes: null, nanoCpus: null, pids: null }, reservations: { memoryBytes: null, nanoCpus: null, generic: {} } },
        placement: { constraints: [], preferences: [], maxReplicas: 0 },
        restartPolicy: null,
        logDriver: null,
        forceUpdate: 0,
      },
      labels: { 'com.docker.stack.namespace': 'test' },
      networks: [{ target: 'test_default', aliases: [] }],
      endpoint: { mode: 'vip', ports: [] },
      update: null,
      rollback: null,
    });
    assert.deepEqual(stack.services.map((s) => s.name), ['test_web', 'test_worker']);
  });

  it('applies defaults for a minimal service', () => {
    const stack = load('services:\n  app:\n    image: alpine:3.19\n');
    assert.deepEqual(service(stack, 'test_app'), {
      name: 'test_app',
      stack: 'test',
      mode: 'replicated',
      replicas: 1,
      task: {
        container: {
          image: 'alpine:3.19',
          command: null,
          entrypoint: null,
          env: [],
          workingDir: null,
          user: null,
          hostname: null,
          stopGracePeriodMs: 10_000,
          dns: [],
          dnsSearch: [],
          extraHosts: [],
          runtime: defaultRuntimeSettings(),
          labels: { 'com.docker.stack.namespace': 'test' },
          mounts: [],
          secrets: [],
          configs: [],
          healthcheck: null,
        },
        hostNetwork: false,
        resources: { limits: { memoryBytes: null, nanoCpus: null, pids: null }, reservations: { memoryBytes: null, nanoCpus: null, generic: {} } },
        placement: { constraints: [], preferences: [], maxReplicas: 0 },
        restartPolicy: null,
        logDriver: null,
        forceUpdate: 0,
      },
      labels: { 'com.docker.stack.namespace': 'test' },
      networks: [{ target: 'test_default', aliases: [] }],
      endpoint: { mode: 'vip', ports: [] },
      update: null,
      rollback: null,
    });
    // The implicit default network every service without `networks` joins.
    assert.deepEqual(stack.networks, [
      {
        key: 'default',
        external: false,
        spec: { name: 'test_default', stack: 'test', driver: 'overlay', subnet: null, attachable: false, labels: { 'com.docker.stack.namespace': 'test' }, encrypted: false },
      },
    ]);
  });

  it('keeps explicit empty command and entrypoint as empty lists', () => {
    const s = service(load('services:\n  a:\n    image: x\n    entrypoint: ""\n    command: []\n'), 'test_a');
    assert.deepEqual(s.task.container.entrypoint, []);
    assert.deepEqual(s.task.container.command, []);
  });

  it('accepts replicas 0, numeric cpus and memory in bytes', () => {
    const s = service(
      load(yaml`
        services:
          a:
            image: x
            deploy:
              replicas: 0
              resources: {limits: {cpus: 2, memory: 1048576}}
      `),
      'test_a',
    );
    assert.equal(s.replicas, 0);
    assert.deepEqual(s.task.resources.limits, { memoryBytes: 1048576, nanoCpus: 2_000_000_000, pids: null });
  });

  it('later environment entries replace earlier ones', () => {
    const s = service(load('services:\n  a:\n    image: x\n    environment: [A=1, B=2, A=3]\n'), 'test_a');
    assert.deepEqual(s.task.container.env, ['A=3', 'B=2']);
  });

  it('ignores x- extension keys at the top level, in services and in deploy', () => {
    const stack = load(yaml`
      x-common: {anything: [1, 2]}
      services:
        a:
          image: x
          x-note: hello
          deploy:
            x-team: core
            resources: {x-r: 1, limits: {x-l: 2, pids: 5}}
    `);
    assert.deepEqual(stack.warnings, []);
    assert.equal(service(stack, 'test_a').task.resources.limits.pids, 5);
  });
});

describe('loadStackText: anchors and merge keys', () => {
  it('expands aliases and merges, explicit keys winning', () => {
    const stack = load(yaml`
      x-defaults: &defaults
        image: busybox
        environment: &env
          LEVEL: info
        deploy:
          replicas: 2
      x-limits: &limits
        resources:
          limits: {memory: 64m}
      services:
        a:
          <<: *defaults
        b:
          <<: *defaults
          image: alpine
          environment:
            <<: *env
            EXTRA: "1"
          deploy:
            <<: *limits
            replicas: 5
        c:
          <<: [*defaults]
          command: &cmd [sleep, "1"]
          entrypoint: *cmd
    `);
    const a = service(stack, 'test_a');
    assert.equal(a.task.container.image, 'busybox:latest');
    assert.deepEqual(a.task.container.env, ['LEVEL=info']);
    assert.equal(a.replicas, 2);
    const b = service(stack, 'test_b');
    assert.equal(b.task.container.image, 'alpine:latest');
    assert.deepEqual(b.task.container.env, ['EXTRA=1', 'LEVEL=info']);
    assert.equal(b.replicas, 5);
    assert.equal(b.task.resources.limits.memoryBytes, 64 * 1024 * 1024);
    const c = service(stack, 'test_c');
    assert.deepEqual(c.task.container.command, ['sleep', '1']);
    assert.deepEqual(c.task.container.entrypoint, ['sleep', '1']);
  });

  it('first merged map wins over later ones', () => {
    const stack = load(yaml`
      x-a: &a {image: first}
      x-b: &b {image: second, user: bob}
      services:
        s:
          <<: [*a, *b]
    `);
    const s = service(stack, 'test_s');
    assert.equal(s.task.container.image, 'first:latest');
    assert.equal(s.task.container.user, 'bob');
  });

  it('interpolates each use of an alias, warning once per variable', () => {
    const stack = load(
      yaml`
        x-img: &img "\${REPO}/app:\${TAG:-1}"
        services:
          a: {image: *img}
          b: {image: *img, user: $NOBODY}
      `,
      { env: { REPO: 'reg.local' } },
    );
    assert.equal(service(stack, 'test_a').task.container.image, 'reg.local/app:1');
    assert.deepEqual(stack.warnings, ['The "NOBODY" variable is not set. Defaulting to a blank string.']);
  });

  it('refuses a recursive alias', () => {
    assertFails('x-a: &a [*a]\nservices:\n  s: {image: x}\n', /refers to itself/, 1);
  });
});

describe('loadStackText: interpolation', () => {
  it('interpolates values from env, then .env, with defaults', () => {
    const stack = load(
      yaml`
        name: \${STACK:-fallback}
        services:
          web:
            image: "\${IMAGE}:\${TAG:-latest}"
            command: echo $$HOME \${GREETING}
            environment:
              - DB=\${DB_HOST:-localhost}:5432
            deploy:
              replicas: \${REPLICAS:-1}
              resources:
                limits:
                  memory: \${MEM}
      `,
      { name: null, env: { IMAGE: 'nginx', GREETING: 'from-env', MEM: '128m' }, dotenv: { GREETING: 'from-dotenv', REPLICAS: '4', DB_HOST: 'db' } },
    );
    assert.equal(stack.name, 'fallback');
    const web = service(stack, 'fallback_web');
    assert.equal(web.task.container.image, 'nginx:latest');
    assert.deepEqual(web.task.container.command, ['echo', '$HOME', 'from-env']);
    assert.deepEqual(web.task.container.env, ['DB=db:5432']);
    assert.equal(web.replicas, 4);
    assert.equal(web.task.resources.limits.memoryBytes, 128 * 1024 * 1024);
    assert.deepEqual(stack.warnings, []);
  });

  it('does not interpolate keys', () => {
    const s = service(load('services:\n  a:\n    image: x\n    environment:\n      $$KEY: v\n'), 'test_a');
    assert.deepEqual(s.task.container.env, ['$$KEY=v']);
  });

  it('an env var set to the empty string counts as set', () => {
    const s = service(load('services:\n  a:\n    image: x\n    user: "${U-default}"\n', { env: { U: '' }, dotenv: { U: 'dot' } }), 'test_a');
    assert.equal(s.task.container.user, '');
  });

  it('does not find Object.prototype members as variables', () => {
    const stack = load('services:\n  a:\n    image: x\n    user: "${constructor}"\n');
    assert.equal(service(stack, 'test_a').task.container.user, '');
    assert.deepEqual(stack.warnings, ['The "constructor" variable is not set. Defaulting to a blank string.']);
  });

  it('warns about unset variables, once each, in order', () => {
    const stack = load('services:\n  a:\n    image: "x${A}"\n    user: $B\n    hostname: h$A\n');
    assert.deepEqual(stack.warnings, [
      'The "A" variable is not set. Defaulting to a blank string.',
      'The "B" variable is not set. Defaulting to a blank string.',
    ]);
  });

  it('fails on a missing required variable, naming key and line', () => {
    assertFails('services:\n  a:\n    image: "${IMAGE:?set IMAGE to the image to run}"\n', /^services\.a\.image: required variable IMAGE is missing a value: set IMAGE to the image to run \(line 3\)$/, 3);
  });

  it('fails on an invalid template', () => {
    assertFails('services:\n  a:\n    image: x\n    command: echo $1\n', /services\.a\.command: invalid interpolation format/, 4);
  });
});

describe('loadStackText: stack name', () => {
  const cases: [string, string | null, string, string][] = [
    ['option wins', 'Given', 'name: fromfile\n', 'given'],
    ['name: key', null, 'name: FromFile\n', 'fromfile'],
    ['folder name', null, '', 'myapp'],
  ];
  for (const [title, option, head, want] of cases) {
    it(title, () => {
      const stack = load(`${head}services:\n  web:\n    image: x\n`, { name: option });
      assert.equal(stack.name, want);
      assert.equal(stack.services[0]?.name, `${want}_web`);
      assert.equal(stack.services[0]?.stack, want);
      assert.deepEqual(stack.services[0]?.labels, { 'com.docker.stack.namespace': want });
    });
  }

  it('normalises a folder name like compose', () => {
    assert.equal(load('services:\n  web: {image: x}\n', { name: null, dir: '/home/u/My App.v2' }).name, 'myappv2');
    assert.equal(load('services:\n  web: {image: x}\n', { name: null, dir: '/srv/_Demo-1' }).name, 'demo-1');
  });

  it('rejects an invalid name from the file', () => {
    assertFails('name: "my app"\nservices:\n  web: {image: x}\n', /^name: invalid stack name "my app"/, 1, { name: null });
  });

  it('rejects an invalid name from the option', () => {
    assert.throws(() => load('services:\n  web: {image: x}\n', { name: '-bad' }), (e: unknown) => e instanceof ComposeError && /invalid stack name "-bad"/.test(e.message));
  });

  it('rejects a folder name with nothing usable', () => {
    assert.throws(() => load('services:\n  web: {image: x}\n', { name: null, dir: '/tmp/***' }), (e: unknown) => e instanceof ComposeError && /cannot derive a stack name/.test(e.message));
  });
});

describe('loadStackText: warnings', () => {
  it('lists unsupported options once, sorted, with deploy ones nested', () => {
    const stack = load(
      yaml`
      version: "3"
      services:
        web:
          image: x
          ports: ["80:80"]
          build: .
          depends_on: [db]
          container_name: web
          restart: always
          networks:
            default: {ipv4_address: 10.0.0.9, aliases: [www]}
          deploy:
            update_config: {parallelism: 1}
            placement: {constraints: []}
            resources:
              reservations: {memory: 1g, devices: [{capabilities: [gpu]}]}
        db:
          image: postgres
          ports: ["5432"]
          healthcheck: {test: [CMD, "true"]}
          labels: {a: b}
          links: [web]
          logging: {driver: syslog}
      networks:
        default:
          driver_opts: {encrypted: "", com.docker.network.driver.mtu: "1400"}
          internal: true
          ipam: {driver: default, config: [{subnet: 10.9.0.0/24, gateway: 10.9.0.1}]}
      volumes: {data: {}}
      secrets: {token: {environment: TOKEN, template_driver: golang}}
      include: [other.yml]
    `,
      { env: { TOKEN: 's3cret' } },
    );
    assert.deepEqual(stack.warnings, [
      'Ignoring unsupported options: container_name, deploy.resources.reservations.devices, links, networks.ipv4_address, restart',
      'Ignoring unsupported network options: driver_opts.com.docker.network.driver.mtu, internal, ipam.config.gateway',
      'Ignoring unsupported top-level keys: include',
      'secrets.token.template_driver: templated secrets are not supported; the secret is used as it is',
      'services.db.logging.driver: logging driver syslog is not supported: the service logs to files as with json-file',
    ]);
    // Ignored keys do not leak into the spec; the supported keys beside them still count.
    const db = service(stack, 'test_db');
    assert.deepEqual(db.labels, { 'com.docker.stack.namespace': 'test' });
    assert.deepEqual(db.task.container.labels, { a: 'b', 'com.docker.stack.namespace': 'test' });
    assert.equal(db.task.logDriver, null);
    const web = service(stack, 'test_web');
    assert.deepEqual(web.networks, [{ target: 'test_default', aliases: ['www'] }]);
    assert.equal(web.task.resources.reservations.memoryBytes, 1024 ** 3);
    assert.equal(web.task.restartPolicy, null);
    assert.equal(stack.networks[0]?.spec.subnet, '10.9.0.0/24');
    assert.equal(stack.networks[0]?.spec.encrypted, true);
  });

  it('keeps depends_on with its condition, short and long form (Swarm ignores it; tsswarm orders start-up by it)', () => {
    const stack = load(yaml`
      services:
        web:
          image: x
          depends_on:
            db: {condition: service_healthy, restart: true}
            cache: {}
        worker:
          image: x
          depends_on: [db]
        db: {image: y}
        cache: {image: y}
    `);
    assert.deepEqual(stack.warnings, []);
    const by = (n: string) => stack.services.find((s) => s.name.endsWith(`_${n}`))!;
    const stackName = stack.name;
    assert.deepEqual(by('web').dependsOn, [{ service: `${stackName}_db`, condition: 'service_healthy' }, { service: `${stackName}_cache`, condition: 'service_started' }]);
    assert.deepEqual(by('worker').dependsOn, [{ service: `${stackName}_db`, condition: 'service_started' }]);
    assert.equal(by('db').dependsOn, undefined);
  });
});

describe('loadStackText: errors name the key and the line', () => {
  const cases: [string, string, RegExp, number][] = [
    ['unknown key', 'services:\n  web:\n    image: x\n    imagee: y\n', /^services\.web\.imagee: unknown key \(line 4\)$/, 4],
    ['unknown top-level key', 'service:\n  web: {image: x}\nservices:\n  web: {image: x}\n', /^service: unknown key/, 1],
    ['unknown deploy key', 'services:\n  web:\n    image: x\n    deploy:\n      replica: 2\n', /^services\.web\.deploy\.replica: unknown key/, 5],
    ['unknown limits key', 'services:\n  web:\n    image: x\n    deploy:\n      resources:\n        limits:\n          memroy: 1g\n', /services\.web\.deploy\.resources\.limits\.memroy: unknown key/, 7],
    ['missing image', 'services:\n  web:\n    command: ls\n', /^services\.web: missing required key "image"/, 2],
    ['null image', 'services:\n  web:\n    image:\n', /^services\.web: missing required key "image"/, 2],
    ['empty image', 'services:\n  web:\n    image: ""\n', /services\.web\.image: invalid image reference "": it is empty/, 3],
    ['invalid image', 'services:\n  web:\n    image: Nginx:1\n', /services\.web\.image: invalid image reference "Nginx:1"/, 3],
    ['image of wrong type', 'services:\n  web:\n    image: [a]\n', /services\.web\.image: must be a string, got a list/, 3],
    ['negative replicas', 'services:\n  web:\n    image: x\n    deploy:\n      mode: replicated\n\n      replicas: -1\n', /^services\.web\.deploy\.replicas: must be a non-negative integer, got -1 \(line 7\)$/, 7],
    ['fractional replicas', 'services:\n  web:\n    image: x\n    deploy: {replicas: 1.5}\n', /replicas: must be a non-negative integer, got 1\.5/, 4],
    ['string replicas', 'services:\n  web:\n    image: x\n    deploy: {replicas: three}\n', /replicas: must be a non-negative integer, got "three"/, 4],
    ['global with replicas', 'services:\n  web:\n    image: x\n    deploy:\n      mode: global\n      replicas: 2\n', /^services\.web\.deploy\.replicas: cannot be used with mode global/, 6],
    ['bad mode', 'services:\n  web:\n    image: x\n    deploy: {mode: everywhere}\n', /deploy\.mode: must be replicated or global, got "everywhere"/, 4],
    ['job mode', 'services:\n  web:\n    image: x\n    deploy: {mode: replicated-job}\n', /deploy\.mode: mode replicated-job is not supported yet/, 4],
    ['undefined depends_on', 'services:\n  web:\n    image: x\n    depends_on:\n      - db\n', /^services\.web\.depends_on: service web depends on undefined service db \(line 5\)$/, 5],
    ['undefined depends_on (map)', 'services:\n  web:\n    image: x\n    depends_on:\n      db: {condition: service_started}\n', /service web depends on undefined service db/, 5],
    ['bad depends_on condition', 'services:\n  db: {image: y}\n  web:\n    image: x\n    depends_on:\n      db: {condition: whenever}\n', /depends_on\.db\.condition: must be one of/, 6],
    ['dependency cycle', 'services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n', /dependency cycle: a -> b -> a/, 4],
    ['YAML syntax error', 'services:\n  web:\n    image: x\n   bad: [\n', /^YAML syntax error: /, 4],
    ['duplicate key', 'services:\n  web:\n    image: x\n    image: y\n', /YAML syntax error: Map keys must be unique/, 4],
    ['tab indentation', 'services:\n\tweb:\n', /YAML syntax error/, 2],
    ['command of wrong type', 'services:\n  web:\n    image: x\n    command: {a: 1}\n', /services\.web\.command: must be a string or a list of strings, got a mapping/, 4],
    ['number in command list', 'services:\n  web:\n    image: x\n    command:\n      - sleep\n      - 10\n', /services\.web\.command\[1\]: must be a string, got 10/, 6],
    ['unterminated quote in command', "services:\n  web:\n    image: x\n    command: sh -c 'oops\n", /services\.web\.command: cannot split .*unterminated single quote/, 4],
    ['environment of wrong type', 'services:\n  web:\n    image: x\n    environment: A=1\n', /services\.web\.environment: must be a list of "KEY=value" strings or a mapping/, 4],
    ['environment value a list', 'services:\n  web:\n    image: x\n    environment:\n      A: [1]\n', /services\.web\.environment\.A: must be a string, number, boolean or null, got a list/, 5],
    ['environment empty key', 'services:\n  web:\n    image: x\n    environment: ["=x"]\n', /services\.web\.environment\[0\]: variable name must not be empty/, 4],
    ['relative working_dir', 'services:\n  web:\n    image: x\n    working_dir: app\n', /services\.web\.working_dir: must be an absolute path/, 4],
    ['user as a number', 'services:\n  web:\n    image: x\n    user: 1000\n', /services\.web\.user: must be a string, got 1000/, 4],
    ['bad hostname', 'services:\n  web:\n    image: x\n    hostname: "my host"\n', /services\.web\.hostname: invalid hostname/, 4],
    ['bad stop_grace_period', 'services:\n  web:\n    image: x\n    stop_grace_period: 10\n', /services\.web\.stop_grace_period: must be a duration/, 4],
    ['bad memory', 'services:\n  web:\n    image: x\n    deploy:\n      resources:\n        limits:\n          memory: lots\n', /limits\.memory: must be a positive size .* got "lots"/, 7],
    ['zero cpus', 'services:\n  web:\n    image: x\n    deploy:\n      resources:\n        limits:\n          cpus: "0"\n', /limits\.cpus: must be a number of CPUs greater than 0, got "0"/, 7],
    ['zero pids', 'services:\n  web:\n    image: x\n    deploy:\n      resources:\n        limits:\n          pids: 0\n', /limits\.pids: must be a positive integer, got 0/, 7],
    ['deploy not a mapping', 'services:\n  web:\n    image: x\n    deploy: [1]\n', /services\.web\.deploy: must be a mapping, got a list/, 4],
    ['service not a mapping', 'services:\n  web: nginx\n', /services\.web: must be a mapping, got "nginx"/, 2],
    ['invalid service name', 'services:\n  web.app:\n    image: x\n', /services\.web\.app: invalid service name/, 2],
    ['services missing', 'version: "3"\n', /services: required/, 1],
    ['services empty', 'services: {}\n', /services: must define at least one service/, 1],
    ['services a list', 'services:\n  - web\n', /services: must be a mapping of service names to services, got a list/, 1],
    ['top level a list', '- a\n- b\n', /the top level must be a mapping, got a list/, 1],
    ['empty file', '', /the file is empty/, 1],
  ];
  for (const [title, text, pattern, line] of cases) {
    it(title, () => assertFails(text, pattern, line));
  }

  it('reports every problem, one per line, in file order', () => {
    const text = 'services:\n  web:\n    imagee: x\n    deploy:\n      replicas: -2\n  db:\n    image: "bad image"\n';
    assert.throws(
      () => load(text),
      (e: unknown) => {
        assert.ok(e instanceof ComposeError);
        assert.deepEqual(e.message.split('\n'), [
          'services.web: missing required key "image" (or "build") (line 2)',
          'services.web.imagee: unknown key (line 3)',
          'services.web.deploy.replicas: must be a non-negative integer, got -2 (line 5)',
          'services.db.image: invalid image reference "bad image": "bad image" is not a valid name component (lowercase letters, digits, separated by . _ __ or -) (line 7)',
        ]);
        assert.equal(e.line, 2);
        return true;
      },
    );
  });

  it('refuses a service name too long once prefixed', () => {
    assertFails(`services:\n  ${'a'.repeat(60)}:\n    image: x\n`, /is longer than 63 characters/, 2);
  });
});

describe('loadStackFile', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsswarm-compose-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads the .env beside the file, the process env winning', () => {
    const dir = join(root, 'Shop');
    mkdirSync(dir);
    writeFileSync(join(dir, '.env'), '# settings\nexport TAG=2.0\nREPLICAS="3"\nUSER_ID=1000\n');
    writeFileSync(join(dir, 'stack.yml'), 'services:\n  api:\n    image: shop/api:${TAG}\n    user: ${USER_ID}\n    deploy:\n      replicas: ${REPLICAS}\n');
    const stack = loadStackFile(join(dir, 'stack.yml'), { name: null, env: { USER_ID: '2000', TAG: undefined } });
    assert.equal(stack.name, 'shop');
    const api = service(stack, 'shop_api');
    assert.equal(api.task.container.image, 'shop/api:2.0');
    assert.equal(api.task.container.user, '2000');
    assert.equal(api.replicas, 3);
  });

  it('works without a .env file', () => {
    const dir = join(root, 'plain');
    mkdirSync(dir);
    writeFileSync(join(dir, 'stack.yml'), 'services:\n  a: {image: x}\n');
    assert.equal(loadStackFile(join(dir, 'stack.yml'), { name: null, env: {} }).name, 'plain');
  });

  it('reports a broken .env with its own file and line', () => {
    const dir = join(root, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, '.env'), 'A=1\nnonsense\n');
    writeFileSync(join(dir, 'stack.yml'), 'services:\n  a: {image: x}\n');
    assert.throws(
      () => loadStackFile(join(dir, 'stack.yml'), { name: null, env: {} }),
      (e: unknown) => e instanceof ComposeError && e.file === join(dir, '.env') && e.line === 2,
    );
  });

  it('reports a missing file as a ComposeError', () => {
    assert.throws(() => loadStackFile(join(root, 'nope.yml'), { name: null, env: {} }), (e: unknown) => e instanceof ComposeError && /cannot read stack file/.test(e.message));
  });

  it('loads compose-examples/hello/stack.yml', () => {
    // dist/test/unit/compose → project root
    const file = resolve(__dirname, '../../../../compose-examples/hello/stack.yml');
    const stack = loadStackFile(file, { name: null, env: {} });
    assert.equal(stack.name, 'hello');
    assert.deepEqual(stack.warnings, []);
    const web = service(stack, 'hello_web');
    assert.equal(web.mode, 'replicated');
    assert.equal(web.replicas, 3);
    assert.equal(web.task.container.image, 'busybox:latest');
    assert.deepEqual(web.task.container.command, ['httpd', '-f', '-p', '8080', '-h', '/var/www']);
    assert.deepEqual(web.task.resources.limits, { memoryBytes: 64 * 1024 * 1024, nanoCpus: null, pids: 100 });
    assert.deepEqual(web.networks, [{ target: 'hello_default', aliases: [] }]);
    assert.deepEqual(stack.networks.map((n) => n.spec.name), ['hello_default']);
    const agent = service(stack, 'hello_agent');
    assert.equal(agent.mode, 'global');
    assert.deepEqual(agent.task.container.command, ['sh', '-c', 'while true; do sleep 3600; done']);
  });
});

describe('loadStackText: dns_search', () => {
  it('gives the container its search domains, one or a list, duplicates dropped', () => {
    const one = load('services:\n  a:\n    image: busybox\n    dns_search: example.com\n');
    assert.deepEqual(service(one, 'test_a').task.container.dnsSearch, ['example.com']);
    const list = load('services:\n  a:\n    image: busybox\n    dns_search: [a.example, b.example., a.example]\n');
    assert.deepEqual(service(list, 'test_a').task.container.dnsSearch, ['a.example', 'b.example']);
  });
  it('refuses what is not a domain', () => {
    assert.throws(() => load('services:\n  a:\n    image: busybox\n    dns_search: ["bad domain"]\n'), /dns_search\[0\]: must be a domain name/);
  });
});
