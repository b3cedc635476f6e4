/**
 * Stacks as people write them, deployed by the real CLI on three test hosts: the example stacks
 * of compose-examples/ (a proxy with a secret and a config, a voting app with a named volume and
 * a placement constraint, a monitoring stack with binds, configs, reservations and a global
 * service), checked from inside their containers, and the bad input each must refuse with one
 * line and nothing applied.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { inContainer, TestHosts } from './harness/hosts';
import { eventually, repoRoot } from './harness/cluster';

interface TaskRow { id: string; name: string; service: string; slot: number | null; node: string | null; nodeId: string | null; desiredState: string; state: string; error: string | null; pid: number | null }
interface BlobRow { id: string; name: string; usedBy: string[]; data?: string }
interface VolumeRow { name: string; node: string; inUse: string[]; driver: string }
interface NodeRow { id: string; hostname: string }

const example = (name: string) => path.join(repoRoot, 'compose-examples', name, 'stack.yml');

describe('stacks as people write them', () => {
  let hosts: TestHosts;
  const running = (stack: string, service?: string) =>
    hosts.json<TaskRow[]>(['stack', 'ps', stack]).filter((t) => t.desiredState === 'running' && t.state === 'running' && (service === undefined || t.service === service));
  const inTask = (t: TaskRow, args: string[]) => inContainer(t.pid!, args);
  /**
   * Every file on disk under the hosts' data roots (the agents', the managers', etcd's, every log)
   * that holds `needle`. Files on a tmpfs are not on disk; a container's own root filesystem holds
   * what its program wrote there (the proxy copies its password into its httpd.conf).
   */
  const filesOnDiskHolding = (needle: string) => {
    const r = spawnSync('grep', ['-rlF', '--', needle, hosts.root], { encoding: 'utf8' });
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .filter((f) => !/\/agent\/containers\/[^/]+\/(upper|rootfs)\//.test(f))
      .filter((f) => spawnSync('stat', ['-f', '-c', '%T', f], { encoding: 'utf8' }).stdout.trim() !== 'tmpfs');
  };

  before(() => {
    requireRoot();
    hosts = new TestHosts(3);
    hosts.start();
    hosts.importBusybox();
  });

  after(() => {
    hosts?.destroy();
  });

  describe('the proxy: a secret, a config, labels and templates', () => {
    const password = fs.readFileSync(path.join(repoRoot, 'compose-examples', 'proxy', 'secrets', 'admin_password.txt'));
    let proxies: TaskRow[] = [];
    let nodes: NodeRow[] = [];

    before(() => {
      hosts.ok(hosts.manager, ['deploy', '-c', example('proxy'), 'proxy']);
      proxies = running('proxy', 'proxy_proxy');
      nodes = hosts.json<NodeRow[]>(['node', 'ls']);
    });

    it('runs a proxy on every host', () => {
      assert.equal(proxies.length, 3);
      assert.equal(new Set(proxies.map((t) => t.node)).size, 3);
    });

    it('puts the secret at /run/secrets/<name> with its bytes, owner and mode, on a tmpfs', () => {
      for (const t of proxies) {
        assert.equal(inTask(t, ['cat', '/run/secrets/admin_password']).stdout, password.toString());
        assert.equal(inTask(t, ['stat', '-c', '%u %g %a', '/run/secrets/admin_password']).stdout.trim(), '0 0 400');
        const secretMount = inTask(t, ['cat', '/proc/mounts']).stdout.split('\n').find((l) => l.split(' ')[1] === '/run/secrets/admin_password');
        assert.match(secretMount ?? '', /\bnoexec\b/, 'a secret is never executable');
        const mounts = inTask(t, ['cat', '/proc/mounts']).stdout.split('\n');
        assert.ok(mounts.some((l) => l.split(' ')[1] === '/run/secrets/admin_password' && l.split(' ')[2] === 'tmpfs') || mounts.some((l) => l.split(' ')[1] === '/run/secrets' && l.split(' ')[2] === 'tmpfs'), `the secret is on a tmpfs:\n${mounts.join('\n')}`);
      }
    });

    it('keeps the secret out of etcd in plain text, out of the agents\' disks and out of the logs', () => {
      const raw = hosts.etcdctl(hosts.manager, ['get', '--print-value-only', '/tsswarm/v1/secrets/proxy_admin_password']);
      assert.equal(raw.code, 0, raw.stderr);
      assert.ok(raw.stdout.includes('"sealed"'), 'the record is there, sealed');
      const text = password.toString().trim();
      assert.ok(!raw.stdout.includes(text), 'no plain text in the raw etcd value');
      assert.ok(!raw.stdout.includes(password.toString('base64')), 'no base64 of it either');
      // etcd's own files, the agents' data roots and every log of the three hosts.
      assert.deepEqual(filesOnDiskHolding(text), []);
    });

    it('puts the config at its target, read-only', () => {
      const conf = fs.readFileSync(path.join(repoRoot, 'compose-examples', 'proxy', 'proxy.conf'), 'utf8');
      for (const t of proxies) {
        assert.equal(inTask(t, ['cat', '/etc/proxy/httpd.conf']).stdout, conf);
        assert.notEqual(inTask(t, ['sh', '-c', 'echo x >> /etc/proxy/httpd.conf']).code, 0, 'the config cannot be written');
      }
    });

    it('expands the templates per task: hostname and environment', () => {
      for (const t of proxies) {
        const host = nodes.find((n) => n.id === t.nodeId)!.hostname;
        assert.equal(inTask(t, ['hostname']).stdout.trim(), `${host}-proxy`);
        // The container's own environment (a process nsenter starts there has the caller's).
        const env = fs.readFileSync(`/proc/${t.pid}/environ`, 'utf8').split('\0').join('\n');
        assert.match(env, new RegExp(`^PROXY_TASK=proxy_proxy\\.${t.nodeId}\\.${t.id}$`, 'm'));
      }
      for (const t of running('proxy', 'proxy_app')) assert.equal(inTask(t, ['hostname']).stdout.trim(), `app-${t.slot}`);
    });

    it('shows secrets without their bytes, configs with theirs, and who uses them', () => {
      const secret = hosts.json<BlobRow[]>(['secret', 'ls']).find((s) => s.name === 'proxy_admin_password');
      assert.deepEqual(secret?.usedBy, ['proxy_proxy']);
      const inspected = JSON.parse(hosts.ok(hosts.manager, ['secret', 'inspect', 'proxy_admin_password'])) as BlobRow[];
      assert.equal(inspected[0]!.data, undefined);
      assert.ok(!JSON.stringify(inspected).includes(password.toString().trim()));
      const config = JSON.parse(hosts.ok(hosts.manager, ['config', 'inspect', 'proxy_proxy_conf'])) as BlobRow[];
      assert.equal(Buffer.from(config[0]!.data!, 'base64').toString(), fs.readFileSync(path.join(repoRoot, 'compose-examples', 'proxy', 'proxy.conf'), 'utf8'));
    });

    it('refuses to remove a secret in use, with Swarm\'s one line', () => {
      const r = hosts.cli(hosts.manager, ['secret', 'rm', 'proxy_admin_password']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim(), "error: secret 'proxy_admin_password' is in use by the following service: proxy_proxy");
    });

    it('answers a published port on 127.0.0.1 of every host', async () => {
      for (const h of hosts.hosts) {
        await eventually(`${h.name} 127.0.0.1:80`, () => hosts.exec(h, 'wget', ['-qO-', '-T', '3', '-t', '1', 'http://127.0.0.1:80/']).stdout.startsWith('proxy_app.'), 30000);
      }
    });

    it('removes the stack\'s secrets and configs with it', async () => {
      hosts.ok(hosts.manager, ['stack', 'rm', 'proxy']);
      assert.equal(hosts.json<BlobRow[]>(['secret', 'ls']).filter((s) => s.name.startsWith('proxy_')).length, 0);
      assert.equal(hosts.json<BlobRow[]>(['config', 'ls']).filter((s) => s.name.startsWith('proxy_')).length, 0);
    });
  });

  describe('the voting app: a named volume and a placement constraint', () => {
    const dbHost = () => hosts.hosts[1]!;

    before(() => {
      hosts.ok(hosts.manager, ['node', 'update', '--label-add', 'db=true', dbHost().name]);
      hosts.ok(hosts.manager, ['deploy', '-c', example('voting'), 'voting']);
    });

    it('puts the database on the labelled host only', () => {
      const db = running('voting', 'voting_db');
      assert.equal(db.length, 1);
      assert.equal(db[0]!.node, dbHost().name);
    });

    it('counts a vote end to end: vote → redis → worker → db → result, across both networks', async () => {
      const h = hosts.hosts[2]!;
      const get = (url: string) => hosts.exec(h, 'wget', ['-qO-', '-T', '3', '-t', '1', url]);
      await eventually('the vote page (once its health check passed)', () => get(`http://${h.addr}:5000/cgi-bin/vote?cats`).stdout.includes('OK'), 60000);
      // result is on frontend and backend: it finds db (backend only) by name.
      const [result] = running('voting', 'voting_result');
      assert.match(inTask(result!, ['nslookup', 'db']).stdout, /Address( 1)?: 10\./, 'result resolves db, a service of its second network');
      await eventually('the vote in the results', () => /cats/.test(get(`http://${h.addr}:5001/votes`).stdout), 60000);
    });

    it('keeps the volume\'s data when the task is replaced, on the same node', async () => {
      const [db] = running('voting', 'voting_db');
      assert.equal(inTask(db!, ['sh', '-c', 'echo cats >> /var/lib/db/votes']).code, 0);
      // The task dies; the orchestrator makes a new one, which the constraint puts on the same node.
      process.kill(db!.pid!, 'SIGKILL');
      const next = await eventually('a new db task', () => running('voting', 'voting_db').find((t) => t.id !== db!.id), 60000);
      assert.equal(next.node, dbHost().name);
      assert.match(inTask(next, ['cat', '/var/lib/db/votes']).stdout, /^cats$/m);
    });

    it('lists the volume on its node, in use, and refuses to remove it', async () => {
      // Agents report their volumes when they change (within a couple of seconds).
      const vol = await eventually('voting_db-data listed in use', () => hosts.json<VolumeRow[]>(['volume', 'ls']).find((v) => v.name === 'voting_db-data' && v.inUse.length === 1), 15000);
      assert.equal(vol.node, dbHost().name);
      const r = hosts.cli(hosts.manager, ['volume', 'rm', 'voting_db-data']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: node host2: .*in use/);
    });

    it('keeps the data across a stack update, and the volume after the stack is removed (as Docker does)', async () => {
      const [before] = running('voting', 'voting_db');
      // The same stack with one more variable for the database: a new spec, so a new task.
      const changed = fs.readFileSync(example('voting'), 'utf8').replace(/(\n  db:\n    image: busybox:latest\n)/, '$1    environment: [REVISION=2]\n');
      assert.notEqual(changed, fs.readFileSync(example('voting'), 'utf8'), 'the db service was changed');
      const file = path.join(hosts.root, 'voting-updated.yml');
      fs.writeFileSync(file, changed);
      hosts.ok(hosts.manager, ['deploy', '-c', file, 'voting']);
      const db = await eventually('the updated db task', () => running('voting', 'voting_db').find((t) => t.id !== before!.id), 60000);
      assert.equal(db.node, dbHost().name);
      assert.match(fs.readFileSync(`/proc/${db.pid}/environ`, 'utf8'), /REVISION=2/);
      assert.match(inTask(db, ['cat', '/var/lib/db/votes']).stdout, /^cats$/m);
      hosts.ok(hosts.manager, ['stack', 'rm', 'voting']);
      await eventually('the volume to be unused', () => hosts.json<VolumeRow[]>(['volume', 'ls']).find((v) => v.name === 'voting_db-data')?.inUse.length === 0, 30000);
      hosts.ok(hosts.manager, ['volume', 'rm', 'voting_db-data']);
      await eventually('the volume to be gone', () => !hosts.json<VolumeRow[]>(['volume', 'ls']).some((v) => v.name === 'voting_db-data'), 15000);
    });
  });

  describe('the monitoring stack: binds, configs, reservations, a global service', () => {
    before(() => {
      hosts.ok(hosts.manager, ['deploy', '-c', example('monitoring'), 'monitoring']);
    });

    after(() => {
      hosts.cli(hosts.manager, ['stack', 'rm', 'monitoring']);
    });

    it('runs an exporter on every host, reading the host\'s /proc through a read-only bind', () => {
      const exporters = running('monitoring', 'monitoring_node-exporter');
      assert.equal(exporters.length, 3);
      for (const t of exporters) {
        assert.equal(inTask(t, ['cat', '/host/proc/sys/kernel/ostype']).stdout.trim(), 'Linux');
        assert.notEqual(inTask(t, ['sh', '-c', 'echo 1 > /host/proc/sys/kernel/ostype']).code, 0);
        assert.equal(inTask(t, ['stat', '-c', '%a', '/www/cgi-bin/metrics']).stdout.trim(), '555');
      }
    });

    it('serves the scrape of every exporter on 9090: the config is an executable CGI, as on Docker', async () => {
      const [exporter] = running('monitoring', 'monitoring_node-exporter');
      const run = inTask(exporter!, ['sh', '-c', '/www/cgi-bin/metrics']);
      assert.equal(run.code, 0, `a config with mode 0555 runs: ${run.stderr}`);
      const h = hosts.hosts[0]!;
      const scrape = await eventually('a scrape with every host in it', () => {
        const out = hosts.exec(h, 'wget', ['-qO-', '-T', '3', '-t', '1', `http://${h.addr}:9090/metrics`]).stdout;
        return hosts.hosts.every((x) => out.includes(x.name)) ? out : undefined;
      }, 60000);
      assert.match(scrape, /node_load1/);
    });
  });

  describe('the predefined host network', () => {
    it('runs the task in its host\'s network namespace, named as its host', async () => {
      const file = path.join(hosts.root, 'hostnet.yml');
      fs.writeFileSync(file, 'services:\n  h:\n    image: busybox\n    command: ["sleep", "600"]\n    stop_grace_period: 1s\n    networks: [hostnet]\nnetworks:\n  hostnet: {external: true, name: host}\n');
      hosts.ok(hosts.manager, ['deploy', '-c', file, 'hostnet']);
      const [t] = running('hostnet');
      const host = hosts.hosts.find((h) => h.name === t!.node)!;
      assert.equal(fs.statSync(`/proc/${t!.pid}/ns/net`).ino, fs.statSync(`/run/netns/${host.netns}`).ino, 'the host\'s network namespace');
      assert.equal(inTask(t!, ['hostname']).stdout.trim(), host.name);
      assert.match(inTask(t!, ['ip', 'addr']).stdout, new RegExp(`inet ${host.addr.replace(/\./g, '\\.')}/`), 'the host\'s address');
      hosts.ok(hosts.manager, ['stack', 'rm', 'hostnet']);
    });
  });

  describe('bad input: one line, nothing applied', () => {
    const stackFile = (name: string, text: string) => {
      const dir = path.join(hosts.root, `bad-${name}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'stack.yml'), text);
      return path.join(dir, 'stack.yml');
    };
    const refused = (name: string, text: string, message: RegExp) => {
      const r = hosts.cli(hosts.manager, ['deploy', '-c', stackFile(name, text), name]);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!hosts.json<{ name: string }[]>(['stack', 'ls']).some((s) => s.name === name), 'no stack');
      assert.ok(!hosts.json<BlobRow[]>(['secret', 'ls']).some((s) => s.name.startsWith(`${name}_`)), 'no secret');
    };
    const svc = (extra: string) => `services:\n  web:\n    image: busybox\n    command: ["sleep", "60"]\n${extra}`;

    it('a secret file that does not exist', () => {
      refused('nofile', `${svc('    secrets: [pw]\n')}secrets:\n  pw:\n    file: ./missing.txt\n`, /missing\.txt.*no such file/);
    });

    it('an external secret that does not exist', () => {
      refused('noext', `${svc('    secrets: [pw]\n')}secrets:\n  pw:\n    external: true\n`, /secret pw not found/);
    });

    it('an unknown constraint field and a malformed constraint', () => {
      refused('badfield', svc('    deploy:\n      placement:\n        constraints: ["node.colour == red"]\n'), /unknown constraint field/);
      refused('badop', svc('    deploy:\n      placement:\n        constraints: ["node.role = manager"]\n'), /operator/);
    });

    it('max_replicas_per_node below zero', () => {
      refused('negmax', svc('    deploy:\n      placement:\n        max_replicas_per_node: -1\n'), /max_replicas_per_node/);
    });

    it('a volume driver no node has: the deploy goes through, the task says so in one line', async () => {
      const file = stackFile('plugin', `${svc('    volumes: [data:/data]\n')}volumes:\n  data:\n    driver: rexray/dobs\n`);
      assert.equal(hosts.cli(hosts.manager, ['deploy', '--detach', '-c', file, 'plugin']).code, 0);
      const t = await eventually('the task to fail with the reason', () => hosts.json<TaskRow[]>(['stack', 'ps', 'plugin']).find((x) => x.error?.includes('volume driver')), 30000);
      assert.match(t.error!, /^volume driver rexray\/dobs is not installed on node host\d$/);
      hosts.ok(hosts.manager, ['stack', 'rm', 'plugin']);
    });

    it('a reservation above every node\'s capacity deploys with a warning, and its task waits with the reason', async () => {
      const file = stackFile('huge', svc('    deploy:\n      resources:\n        reservations: {memory: 64T}\n'));
      const r = hosts.cli(hosts.manager, ['deploy', '--detach', '-c', file, 'huge']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^warning: .*huge_web.*more than any node has/m);
      const t = await eventually('the explanation', () => hosts.json<TaskRow[]>(['stack', 'ps', 'huge']).find((x) => x.error?.includes('insufficient resources on 3 nodes')), 30000);
      assert.equal(t.state, 'pending');
      assert.equal(t.error, 'no suitable node (insufficient resources on 3 nodes)');
      hosts.ok(hosts.manager, ['stack', 'rm', 'huge']);
    });
  });
});
