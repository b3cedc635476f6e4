import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Mount } from '../../../shared/types';
import { parseShortVolume } from '../../../shared/compose/volume-spec';
import { assertFails, load, problemsOf, service, yaml } from './helpers';

const NS = 'com.docker.stack.namespace';
const LOCAL = { name: 'local', options: {} };

function mountsOf(volumes: string, top = 'volumes:\n  data:\n  logs: {external: true}\n', env: Record<string, string> = {}): Mount[] {
  const text = `services:\n  web:\n    image: busybox\n    volumes:\n${volumes}${top}`;
  const stack = load(text, { env, dir: '/stacks/myapp' });
  assert.deepEqual(stack.warnings, []);
  return service(stack, 'test_web').task.container.mounts;
}

const bind = (source: string, target: string, readOnly = false, propagation: Mount['bind'] = { propagation: 'rprivate', createHostPath: false }): Mount => ({
  type: 'bind',
  source,
  target,
  readOnly,
  bind: propagation,
  volume: null,
  tmpfs: null,
});

const named = (source: string, target: string, readOnly = false, noCopy = false): Mount => ({
  type: 'volume',
  source,
  target,
  readOnly,
  bind: null,
  volume: { noCopy, labels: { [NS]: 'test' }, driver: LOCAL },
  tmpfs: null,
});

describe('volumes: short syntax', () => {
  const cases: [string, Mount][] = [
    ['/srv/www:/var/www', bind('/srv/www', '/var/www')],
    ['/srv/www:/var/www:ro', bind('/srv/www', '/var/www', true)],
    ['/srv/www:/var/www:rw', bind('/srv/www', '/var/www', false)],
    ['./html:/var/www:ro,z', bind('/stacks/myapp/html', '/var/www', true)],
    ['../shared:/shared:Z', bind('/stacks/shared', '/shared')],
    ['.cache:/cache', bind('/stacks/myapp/.cache', '/cache')],
    ['~/conf:/etc/app:ro', bind('/home/deployer/conf', '/etc/app', true)],
    ['~:/root/home', bind('/home/deployer', '/root/home')],
    ['/proc:/host/proc:ro,rslave', bind('/proc', '/host/proc', true, { propagation: 'rslave', createHostPath: false })],
    ['/mnt:/mnt:rshared', bind('/mnt', '/mnt', false, { propagation: 'rshared', createHostPath: false })],
    ['/src:/app:cached', bind('/src', '/app')],
    ['data:/var/lib/data', named('test_data', '/var/lib/data')],
    ['data:/var/lib/data:ro', named('test_data', '/var/lib/data', true)],
    ['data:/var/lib/data:nocopy', named('test_data', '/var/lib/data', false, true)],
    ['logs:/var/log', { type: 'volume', source: 'logs', target: '/var/log', readOnly: false, bind: null, volume: { noCopy: false, labels: {}, driver: null }, tmpfs: null }],
    ['/var/cache', { type: 'volume', source: '', target: '/var/cache', readOnly: false, bind: null, volume: { noCopy: false, labels: {}, driver: null }, tmpfs: null }],
  ];
  for (const [spec, want] of cases) {
    it(spec, () => assert.deepEqual(mountsOf(`      - "${spec}"\n`, undefined, { HOME: '/home/deployer' }), [want]));
  }

  it('keeps file order', () => {
    const mounts = mountsOf('      - data:/a\n      - /b\n      - /c:/c\n');
    assert.deepEqual(mounts.map((m) => [m.type, m.target]), [['volume', '/a'], ['volume', '/b'], ['bind', '/c']]);
  });

  it('may hold templates in source and target', () => {
    const mounts = mountsOf('      - "/srv/{{.Service.Name}}/{{.Task.Slot}}:/data/{{.Node.Hostname}}"\n');
    assert.deepEqual(mounts, [bind('/srv/{{.Service.Name}}/{{.Task.Slot}}', '/data/{{.Node.Hostname}}')]);
  });

  const errors: [string, RegExp][] = [
    ['data:relative', /the mount target must be an absolute path, got "relative"/],
    ['/srv:/', /the mount target can't be \//],
    ['/a::/b', /empty section between colons/],
    ['/a:/b:ro:x', /too many colons/],
    ['/a:/b:bogus', /invalid volume option "bogus"/],
    ['/a:/b:nocopy', /the nocopy option is for volumes/],
    ['data:/b:rslave', /the propagation option rslave is for binds/],
    ['nothere:/b', /^services\.web\.volumes\[0\]: service web refers to undefined volume nothere: declare it in the top-level volumes \(line 5\)$/],
    ['~bob/x:/x', /only ~ \(the home folder\) is expanded/],
    ['/a:/b/{{.Task.Nope}}', /unknown template placeholder "\{\{\.Task\.Nope\}\}"/],
  ];
  for (const [spec, pattern] of errors) {
    it(`refuses ${spec}`, () => assertFails(`services:\n  web:\n    image: busybox\n    volumes:\n      - "${spec}"\nvolumes:\n  data:\n`, pattern, 5));
  }

  it('refuses duplicate targets, however written', () => {
    const problems = problemsOf('services:\n  web:\n    image: busybox\n    volumes:\n      - data:/data\n      - /srv:/data/\n      - type: tmpfs\n        target: /data\nvolumes:\n  data:\n');
    assert.deepEqual(problems, [
      'services.web.volumes[1]: duplicate mount target /data/ (also services.web.volumes[0]) (line 6)',
      'services.web.volumes[2]: duplicate mount target /data (also services.web.volumes[0]) (line 7)',
    ]);
  });

  it('refuses a tmpfs: target that is also a volumes target', () => {
    assertFails('services:\n  web:\n    image: busybox\n    tmpfs: /run\n    volumes: ["/run"]\n', /services\.web\.tmpfs: \/run is also a target in volumes/, 4);
  });

  it('a missing bind source is not a deploy error (the task fails on its node)', () => {
    assert.deepEqual(mountsOf('      - /does/not/exist:/x\n'), [bind('/does/not/exist', '/x')]);
  });
});

describe('volumes: the short-syntax parser', () => {
  it('splits like docker/cli', () => {
    assert.deepEqual(parseShortVolume('/a'), { ok: true, volume: { source: '', target: '/a', readOnly: false, noCopy: false, propagation: null } });
    assert.deepEqual(parseShortVolume('v:/a:ro,nocopy'), { ok: true, volume: { source: 'v', target: '/a', readOnly: true, noCopy: true, propagation: null } });
    assert.deepEqual(parseShortVolume(''), { ok: false, reason: 'invalid empty volume spec' });
  });
});

describe('volumes: long syntax', () => {
  it('converts bind, volume and tmpfs with their options', () => {
    const mounts = mountsOf(`${yaml`
      - type: bind
        source: ./conf
        target: /etc/app
        read_only: yes
        consistency: cached
        bind: {propagation: rshared, create_host_path: true}
      - type: volume
        source: data
        target: /data
        volume: {nocopy: on}
      - type: volume
        target: /scratch
      - type: tmpfs
        target: /run/cache
        tmpfs: {size: 64m, mode: 01777}
      - type: tmpfs
        target: /run/other
    `
      .trimEnd()
      .replace(/^/gm, '      ')}\n`);
    assert.deepEqual(mounts, [
      bind('/stacks/myapp/conf', '/etc/app', true, { propagation: 'rshared', createHostPath: true }),
      named('test_data', '/data', false, true),
      { type: 'volume', source: '', target: '/scratch', readOnly: false, bind: null, volume: { noCopy: false, labels: {}, driver: null }, tmpfs: null },
      { type: 'tmpfs', source: '', target: '/run/cache', readOnly: false, bind: null, volume: null, tmpfs: { sizeBytes: 64 * 1024 * 1024, mode: 0o1777 } },
      { type: 'tmpfs', source: '', target: '/run/other', readOnly: false, bind: null, volume: null, tmpfs: { sizeBytes: null, mode: null } },
    ]);
  });

  it('a long-syntax bind is not created on the node unless asked', () => {
    const [m] = mountsOf('      - {type: bind, source: /srv, target: /srv}\n');
    assert.deepEqual(m?.bind, { propagation: 'rprivate', createHostPath: false });
  });

  const errors: [string, string, RegExp, number][] = [
    ['no type', '{source: data, target: /d}', /services\.web\.volumes\[0\]: missing required key "type"/, 5],
    ['npipe', '{type: npipe, source: x, target: /d}', /services\.web\.volumes\[0\]\.type: mounts of type npipe are not supported/, 5],
    ['cluster', '{type: cluster, source: x, target: /d}', /mounts of type cluster are not supported/, 5],
    ['unknown type', '{type: nfs, source: x, target: /d}', /\.type: must be one of bind, volume, tmpfs, got "nfs"/, 5],
    ['no target', '{type: volume, source: data}', /services\.web\.volumes\[0\]: missing required key "target"/, 5],
    ['relative target', '{type: volume, source: data, target: d}', /the mount target must be an absolute path/, 5],
    ['bind without source', '{type: bind, target: /d}', /\.source: a bind needs a source/, 5],
    ['tmpfs with source', '{type: tmpfs, source: x, target: /d}', /\.source: a tmpfs mount has no source/, 5],
    ['bind options on a volume', '{type: volume, source: data, target: /d, bind: {propagation: shared}}', /\.bind: bind options are incompatible with type volume/, 5],
    ['volume options on a bind', '{type: bind, source: /x, target: /d, volume: {nocopy: true}}', /\.volume: volume options are incompatible with type bind/, 5],
    ['tmpfs options on a bind', '{type: bind, source: /x, target: /d, tmpfs: {size: 1m}}', /\.tmpfs: tmpfs options are incompatible with type bind/, 5],
    ['bad propagation', '{type: bind, source: /x, target: /d, bind: {propagation: up}}', /\.bind\.propagation: must be one of rprivate, private, rshared, shared, rslave, slave/, 5],
    ['bad read_only', '{type: bind, source: /x, target: /d, read_only: maybe}', /\.read_only: must be true or false, got "maybe"/, 5],
    ['bad tmpfs size', '{type: tmpfs, target: /d, tmpfs: {size: lots}}', /\.tmpfs\.size: must be a positive size/, 5],
    ['bad tmpfs mode', '{type: tmpfs, target: /d, tmpfs: {mode: 0999}}', /\.tmpfs\.mode: must be a file mode from 0 to 07777/, 5],
    ['unknown key', '{type: tmpfs, target: /d, sizee: 1}', /services\.web\.volumes\[0\]\.sizee: unknown key/, 5],
    ['undefined volume', '{type: volume, source: nope, target: /d}', /\.source: service web refers to undefined volume nope/, 5],
  ];
  for (const [title, entry, pattern, line] of errors) {
    it(`refuses ${title}`, () => assertFails(`services:\n  web:\n    image: busybox\n    volumes:\n      - ${entry}\nvolumes:\n  data:\n`, pattern, line));
  }

  it('warns about keys it does not implement', () => {
    const stack = load('services:\n  web:\n    image: busybox\n    volumes:\n      - {type: volume, source: data, target: /d, volume: {subpath: sub}}\n      - {type: bind, source: /x, target: /x, bind: {selinux: z}}\nvolumes:\n  data:\n');
    assert.deepEqual(stack.warnings, ['Ignoring unsupported options: volumes.bind.selinux, volumes.volume.subpath']);
  });
});

describe('volumes: the top-level volumes', () => {
  it('gives each mount its name, driver and labels', () => {
    const stack = load(yaml`
      services:
        web:
          image: busybox
          volumes: [db:/db, cache:/cache, shared:/shared, old:/old, plain:/plain]
      volumes:
        db:
          driver: local
          driver_opts: {type: tmpfs, device: tmpfs, o: "size=100m,uid=1000"}
          labels: [backup=daily, tier]
        cache:
          name: cache-of-everyone
          labels: {size: 10}
        shared:
          external: true
          name: team-shared
        old:
          external: {name: legacy-volume}
        plain:
    `);
    assert.deepEqual(stack.warnings, []);
    const volumes = service(stack, 'test_web').task.container.mounts.map((m) => ({ source: m.source, volume: m.volume }));
    assert.deepEqual(volumes, [
      { source: 'test_db', volume: { noCopy: false, labels: { backup: 'daily', tier: '', [NS]: 'test' }, driver: { name: 'local', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=100m,uid=1000' } } } },
      { source: 'cache-of-everyone', volume: { noCopy: false, labels: { size: '10', [NS]: 'test' }, driver: LOCAL } },
      { source: 'team-shared', volume: { noCopy: false, labels: {}, driver: null } },
      { source: 'legacy-volume', volume: { noCopy: false, labels: {}, driver: null } },
      { source: 'test_plain', volume: { noCopy: false, labels: { [NS]: 'test' }, driver: LOCAL } },
    ]);
  });

  it('reads external as a YAML 1.1 boolean', () => {
    const stack = load('services:\n  web:\n    image: busybox\n    volumes: [v:/v]\nvolumes:\n  v: {external: yes}\n');
    assert.equal(service(stack, 'test_web').task.container.mounts[0]?.source, 'v');
  });

  const errors: [string, string, RegExp, number][] = [
    ['external with a driver', '  v:\n    external: true\n    driver: local\n', /^volumes\.v\.driver: conflicting parameters "external" and "driver" specified \(line 8\)$/, 8],
    ['external with labels', '  v:\n    external: true\n    labels: [a=b]\n', /volumes\.v\.labels: conflicting parameters "external" and "labels"/, 8],
    ['external.name and name', '  v:\n    external: {name: a}\n    name: b\n', /volumes\.v\.name: external\.name and name conflict/, 8],
    ['a driver name that is no name', '  v:\n    driver: "rex ray"\n', /volumes\.v\.driver: invalid volume driver name "rex ray"/, 7],
    ['driver_opts not a mapping', '  v:\n    driver_opts: [a]\n', /volumes\.v\.driver_opts: must be a mapping/, 7],
    ['bad name', '  v:\n    name: "-x"\n', /volumes\.v\.name: invalid volume name "-x"/, 7],
    ['unknown key', '  v:\n    drivr: local\n', /volumes\.v\.drivr: unknown key/, 7],
    ['not a mapping', '  v: local\n', /volumes\.v: must be a mapping, got "local"/, 6],
  ];
  for (const [title, def, pattern, line] of errors) {
    it(`refuses ${title}`, () => assertFails(`services:\n  web:\n    image: busybox\n    volumes: [v:/v]\nvolumes:\n${def}`, pattern, line));
  }

  it('does not report mounts of a volume whose definition is broken', () => {
    assert.deepEqual(problemsOf('services:\n  web:\n    image: busybox\n    volumes: [v:/v]\nvolumes:\n  v: {driver: "a b"}\n'), [
      'volumes.v.driver: invalid volume driver name "a b" (line 6)',
    ]);
  });

  it('takes a volume plugin\'s name as it is: the node that lacks it fails the task, as in Swarm', () => {
    const stack = load('services:\n  web:\n    image: busybox\n    volumes: [v:/v]\nvolumes:\n  v: {driver: rexray/dobs, driver_opts: {size: "10"}}\n');
    assert.deepEqual(service(stack, 'test_web').task.container.mounts[0]?.volume?.driver, { name: 'rexray/dobs', options: { size: '10' } });
  });
});
