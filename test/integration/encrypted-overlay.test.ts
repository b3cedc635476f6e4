/**
 * Encrypted overlay networks on a real two-host cluster (network namespaces on a test bridge,
 * `tsswarm init` / `join` with tokens): a stack with an encrypted network (`driver_opts:
 * {encrypted: ""}`) and a plain one, a server on each host and a client. What crosses the test
 * bridge is captured with tcpdump in the switch's namespace: the encrypted network carries ESP
 * between the hosts and never a byte of what the containers sent, the plain one stays plain VXLAN;
 * containers reach each other by name and by VIP; the managers rotate the keys (the period is
 * shortened for the test) without a ping lost. Also `network create --opt encrypted` and its
 * listing. Traffic only goes to addresses of namespaces this test made; `after` removes the hosts
 * (tsswarm down on each, then every process by PID, mount, cgroup and namespace), also on failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { inContainer, TestHosts, type TestHost } from './harness/hosts';
import { eventually } from './harness/cluster';

interface TaskRow { name: string; service: string; node: string | null; desiredState: string; state: string; pid: number | null }
interface NetworkRow { id: string; name: string; vni: number; subnet: string; encrypted: boolean }
interface NetworkInspect extends NetworkRow { containers: Array<{ task: string; address: string; node: string | null }> }

/** Shorter than any test step: the managers rotate the keys several times while the test runs. */
const ROTATION_MS = 4000;

const STACK = [
  'services:',
  '  server:',
  '    image: busybox',
  // Its page is its hostname (the task's short id), so a client sees which server answered; what
  // arrives on port 7000 is kept in /tmp/got.
  '    command: ["sh", "-c", "hostname > /tmp/index.html; (while true; do nc -l -p 7000 >> /tmp/got; done) & exec httpd -f -p 8080 -h /tmp"]',
  '    stop_grace_period: 1s',
  '    networks: [secure, plain]',
  '    deploy: { mode: global }',
  '  client:',
  '    image: busybox',
  '    command: sh -c "while true; do sleep 1; done"',
  '    stop_grace_period: 1s',
  '    networks: [secure, plain]',
  'networks:',
  '  secure:',
  '    driver_opts: { encrypted: "" }',
  '  plain: {}',
  '',
].join('\n');

describe('encrypted overlay networks on two hosts (root)', () => {
  let hosts: TestHosts;
  const captures: ChildProcess[] = [];
  const savedRotation = process.env['TSSWARM_NETWORK_KEY_ROTATION_MS'];

  before(() => {
    requireRoot();
    assert.equal(spawnSync('tcpdump', ['--version']).status, 0, 'tcpdump missing: run scripts/setup.sh');
    // The managers started below inherit it (the test hook of manager/network-keys/keyring.ts).
    process.env['TSSWARM_NETWORK_KEY_ROTATION_MS'] = String(ROTATION_MS);
    hosts = new TestHosts(2);
    hosts.start();
    hosts.importBusybox();
  });

  after(() => {
    for (const c of captures) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
    hosts?.destroy();
    if (savedRotation === undefined) delete process.env['TSSWARM_NETWORK_KEY_ROTATION_MS'];
    else process.env['TSSWARM_NETWORK_KEY_ROTATION_MS'] = savedRotation;
  });

  /** tcpdump on the test switch (every packet between the hosts) into a file under the test's root. */
  async function captureSwitch(name: string): Promise<{ stop: () => Promise<{ bytes: Buffer; text: string }> }> {
    const file = path.join(hosts.root, `${name}.pcap`);
    const p = spawn('nsenter', [`--net=/run/netns/${hosts.switchNs}`, 'tcpdump', '-Z', 'root', '--immediate-mode', '-i', 'br0', '-n', '-U', '-s', '0', '-w', file, 'not arp'], { stdio: ['ignore', 'ignore', 'pipe'] });
    captures.push(p);
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
    await eventually('tcpdump listening', () => err.includes('listening on'), 10000);
    return {
      stop: async () => {
        await new Promise((r) => setTimeout(r, 300));
        if (p.exitCode === null) process.kill(p.pid!, 'SIGINT');
        await new Promise((r) => (p.exitCode === null && p.signalCode === null ? p.on('exit', r) : r(null)));
        const text = spawnSync('tcpdump', ['-r', file, '-n', '-v'], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout;
        return { bytes: fs.readFileSync(file), text };
      },
    };
  }

  function running(): TaskRow[] {
    return hosts.json<TaskRow[]>(['stack', 'ps', 'enc']).filter((t) => t.desiredState === 'running' && t.state === 'running' && t.pid !== null);
  }

  function container(task: TaskRow, args: string[]): string {
    const r = inContainer(task.pid!, args);
    if (r.code !== 0) throw new Error(`${task.name}: ${args.join(' ')}: exit ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  let client: TaskRow;
  let remoteServer: TaskRow;
  let secure: NetworkInspect;
  let plain: NetworkInspect;
  const addressOf = (net: NetworkInspect, task: TaskRow) => net.containers.find((c) => c.task === task.name)!.address.split('/')[0]!;

  it('deploys a stack with an encrypted network; network ls and inspect show it', async () => {
    const m = hosts.manager;
    const file = path.join(m.dataRoot, 'enc-stack.yml');
    fs.writeFileSync(file, STACK);
    hosts.ok(m, ['deploy', '-c', file, 'enc']);
    await eventually('three tasks running', () => running().length === 3, 90000);
    const nets = hosts.json<NetworkRow[]>(['network', 'ls']);
    assert.deepEqual(
      nets.filter((n) => n.name.startsWith('enc_')).map((n) => [n.name, n.encrypted]).sort(),
      [['enc_plain', false], ['enc_secure', true]],
    );
    const table = hosts.ok(m, ['network', 'ls']);
    assert.match(table, /ENCRYPTED/);
    assert.match(table, /enc_secure\s.*\syes\s*$/m);
    secure = hosts.json<NetworkInspect[]>(['network', 'inspect', 'enc_secure'])[0]!;
    plain = hosts.json<NetworkInspect[]>(['network', 'inspect', 'enc_plain'])[0]!;
    assert.equal(secure.encrypted, true);
    assert.equal(plain.encrypted, false);
    const tasks = running();
    client = tasks.find((t) => t.service === 'enc_client')!;
    remoteServer = tasks.find((t) => t.service === 'enc_server' && t.node !== client.node)!;
    assert.ok(client && remoteServer, 'a client and a server on the other host');
    // The encrypted network's MTU leaves room for ESP; the plain one's does not need to.
    assert.match(container(client, ['ip', 'link', 'show', 'eth0']), /mtu 1416/);
    assert.match(container(client, ['ip', 'link', 'show', 'eth1']), /mtu 1450/);
  });

  // (busybox wget without -T: its -T makes the static busybox crash in a container here.)
  it('reaches the servers by name and by VIP over the encrypted network', async () => {
    const seen = new Set<string>();
    const serverHostnames = new Set(running().filter((t) => t.service === 'enc_server').map((t) => container(t, ['hostname']).trim()));
    // The VIP balances over both servers, one of them on the other host.
    await eventually('both servers answer by name', () => {
      seen.add(container(client, ['wget', '-q', '-O', '-', 'http://server:8080/']).trim());
      return [...serverHostnames].every((h) => seen.has(h));
    }, 30000);
    const vip = /Address(?: 1)?:\s+(10\.\d+\.\d+\.\d+)/.exec(container(client, ['nslookup', 'server']).split('Name:')[1] ?? '')?.[1];
    assert.ok(vip !== undefined, 'server resolves to its VIP');
    assert.ok(vip.startsWith(secure.subnet.split('.').slice(0, 3).join('.')), `VIP ${vip} on the encrypted network ${secure.subnet}`);
    const byVip = new Set<string>();
    await eventually('both servers answer on the VIP', () => {
      byVip.add(container(client, ['wget', '-q', '-O', '-', `http://${vip}:8080/`]).trim());
      return [...serverHostnames].every((h) => byVip.has(h));
    }, 30000);
    assert.equal(container(client, ['wget', '-q', '-O', '-', 'http://enc_server:8080/']).trim().length > 0, true, 'stack_service name');
  });

  it('carries ESP between the hosts and never what the containers sent; the plain network stays plain VXLAN', async () => {
    const secureMarker = `SECRET-${randomBytes(8).toString('hex')}`;
    const plainMarker = `PLAIN-${randomBytes(8).toString('hex')}`;
    const cap = await captureSwitch('markers');
    // Sent until it is in the server's file: busybox nc may quit before it sent (the server closes
    // its side at once, its stdin being /dev/null), so a clean exit proves nothing.
    const send = (to: string, text: string) =>
      eventually(`${text.slice(0, 6)} to ${to}`, () => {
        inContainer(client.pid!, ['sh', '-c', `echo ${text} | nc -w 2 ${to} 7000`]);
        return inContainer(remoteServer.pid!, ['cat', '/tmp/got']).stdout.includes(text);
      }, 20000);
    await send(addressOf(secure, remoteServer), secureMarker);
    await send(addressOf(plain, remoteServer), plainMarker);
    // Some bulk over the encrypted network too (full-size packets); the first whole try is enough.
    await eventually('bulk sent', () => inContainer(client.pid!, ['sh', '-c', `head -c 300000 /dev/zero | tr '\\0' x | nc -w 2 ${addressOf(secure, remoteServer)} 7000`]).code === 0, 20000);
    const { bytes, text } = await cap.stop();
    const [h1, h2] = hosts.hosts as [TestHost, TestHost];
    for (const [from, to] of [[h1, h2], [h2, h1]] as const) {
      assert.match(text, new RegExp(`${from.addr.replace(/\./g, '\\.')} > ${to.addr.replace(/\./g, '\\.')}: ESP\\(spi=0x[0-9a-f]+`), `ESP from ${from.name} to ${to.name}`);
    }
    assert.equal(bytes.includes(Buffer.from(secureMarker)), false, 'the encrypted network marker crossed the underlay in the clear');
    assert.equal(bytes.includes(Buffer.from('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')), false, 'bulk data in the clear');
    assert.ok(bytes.includes(Buffer.from(plainMarker)), 'the plain network is plain VXLAN (its marker is readable)');
    assert.match(text, new RegExp(`VXLAN.*vni ${plain.vni}\\b`), 'plain VXLAN of the plain network');
    assert.doesNotMatch(text, new RegExp(`vni ${secure.vni}\\b`), 'no plain VXLAN of the encrypted network');
  });

  it('rotates the keys (new SPIs on the wire) without losing a packet', async () => {
    const cap = await captureSwitch('rotation');
    // Three rotation periods of pings to the server on the other host, over the encrypted network.
    const r = inContainer(client.pid!, ['ping', '-c', String((3 * ROTATION_MS) / 100), '-i', '0.1', addressOf(secure, remoteServer)]);
    const { text } = await cap.stop();
    assert.match(r.stdout, / 0% packet loss/, r.stdout.split('\n').slice(-3).join('\n'));
    const from = (hosts.hosts.find((h) => h.name === client.node) ?? hosts.manager).addr.replace(/\./g, '\\.');
    const spis = new Set([...text.matchAll(new RegExp(`${from} > [\\d.]+: ESP\\(spi=(0x[0-9a-f]+)`, 'g'))].map((x) => x[1]));
    assert.ok(spis.size >= 2, `the client's host sealed with one key only (${[...spis].join(', ')}): no rotation seen`);
  });

  it('creates encrypted networks from the command line; refuses an unknown option', () => {
    const m = hosts.manager;
    hosts.ok(m, ['network', 'create', '--opt', 'encrypted', 'cli-secure']);
    hosts.ok(m, ['network', 'create', '-o', 'encrypted=', 'cli-secure2']);
    hosts.ok(m, ['network', 'create', 'cli-plain']);
    const nets = hosts.json<NetworkRow[]>(['network', 'ls']);
    assert.deepEqual(nets.filter((n) => n.name.startsWith('cli-')).map((n) => [n.name, n.encrypted]).sort(), [['cli-plain', false], ['cli-secure', true], ['cli-secure2', true]]);
    const bad = hosts.cli(m, ['network', 'create', '--opt', 'com.docker.network.driver.mtu=1400', 'cli-bad']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: unsupported network option "com\.docker\.network\.driver\.mtu" \(supported: encrypted\)\n$/);
    for (const n of ['cli-secure', 'cli-secure2', 'cli-plain']) hosts.ok(m, ['network', 'rm', n]);
  });

  /** The ESP helper processes of a host (their command line names its data root). */
  function helpersOf(h: TestHost): number[] {
    return hosts.processes().filter((p) => {
      try {
        const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv[0]!.endsWith('/tsswarm-esp') && argv.some((a) => a.startsWith(`${h.dataRoot}/`));
      } catch {
        return false;
      }
    });
  }

  /** The host's netns holds a TUN device, fwmark rule or nft chain of the ESP data path. */
  function espState(h: TestHost): string[] {
    const found: string[] = [];
    if (/esp[:@]/.test(hosts.exec(h, 'ip', ['-o', 'link', 'show']).stdout)) found.push('TUN device');
    if (/fwmark 0xe5c/.test(hosts.exec(h, 'ip', ['rule', 'show']).stdout)) found.push('fwmark rule');
    if (/esp_/.test(hosts.exec(h, 'nft', ['list', 'ruleset']).stdout)) found.push('nft chains');
    if (helpersOf(h).length > 0) found.push('ESP helper');
    return found;
  }

  it('removes the ESP data path from every host with the stack', async () => {
    // "changed while removing it; try again" is an answer a user may get (a loop wrote meanwhile): again, then.
    await eventually('stack rm', () => hosts.cli(hosts.manager, ['stack', 'rm', 'enc']).code === 0, 30000);
    await eventually('stack gone', () => hosts.json<unknown[]>(['stack', 'ls']).length === 0, 60000);
    for (const h of hosts.hosts) await eventually(`${h.name}: no TUN device, rule, nft chain or helper`, () => espState(h).length === 0, 30000);
  });

  it('tsswarm down removes the ESP data path of a host whose tasks still run', async () => {
    const m = hosts.manager;
    hosts.ok(m, ['deploy', '-c', path.join(m.dataRoot, 'enc-stack.yml'), 'enc']);
    const h2 = hosts.hosts[1]!;
    await eventually('host2 encrypts again', () => espState(h2).length === 4, 90000);
    const r = hosts.cli(h2, ['down', '--data-root', h2.dataRoot]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(espState(h2), [], 'left behind by tsswarm down');
  });
});
