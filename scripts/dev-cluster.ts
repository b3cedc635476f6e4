/**
 * A 3-host cluster on this machine to try things by hand, made with the same
 * harness the integration tests use (hosts are network namespaces on a test
 * bridge). As root, after `npm run build`:
 *   node dist/scripts/dev-cluster.js up [HOSTS] [--managers N]   # prints how to use it
 *   node dist/scripts/dev-cluster.js down         # removes everything it made
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestHosts } from '../test/integration/harness/hosts';

const STATE = '/run/tsswarm-dev-cluster.json';

function up(count: number, managers: number): void {
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error('HOSTS: 1 to 9');
  if (!Number.isInteger(managers) || managers < 1 || managers > count) throw new Error(`--managers: 1 to ${count}`);
  if (fs.existsSync(STATE)) throw new Error(`a dev cluster exists already (${STATE}); run: node dist/scripts/dev-cluster.js down`);
  const hosts = new TestHosts(count);
  fs.writeFileSync(STATE, JSON.stringify({ count, tag: hosts.tag, root: hosts.root }));
  try {
    hosts.start(managers);
  } catch (e) {
    hosts.destroy();
    fs.rmSync(STATE, { force: true });
    throw e;
  }
  const cli = path.resolve(__dirname, '..', 'cli', 'main.js');
  process.stdout.write(
    [
      `${count} hosts up (${managers} of them managers): ${hosts.hosts.map((h) => `${h.name} ${h.addr} (netns ${h.netns})`).join(', ')}`,
      '',
      'Use the cluster:',
      `  export TSSWARM_HOST=${path.join(hosts.manager.dataRoot, 'api.sock')}`,
      `  node ${cli} node ls`,
      'Run a command on a host (its network namespace):',
      `  nsenter --net=/run/netns/${hosts.hosts[1]?.netns ?? hosts.manager.netns} ip addr`,
      'Remove it:',
      '  node dist/scripts/dev-cluster.js down',
      '',
    ].join('\n'),
  );
}

function down(): void {
  const s = JSON.parse(fs.readFileSync(STATE, 'utf8')) as { count: number; tag: string; root: string };
  new TestHosts(s.count, { tag: s.tag, root: s.root }).destroy();
  fs.rmSync(STATE, { force: true });
  process.stdout.write('dev cluster removed\n');
}

try {
  const args = process.argv.slice(2);
  const m = args.indexOf('--managers');
  const managers = m >= 0 ? Number(args.splice(m, 2)[1]) : 1;
  const [cmd, n] = args;
  if (cmd === 'up') up(Number(n ?? 3), managers);
  else if (cmd === 'down') down();
  else throw new Error('usage: dev-cluster.js up [HOSTS] [--managers N] | down');
} catch (e) {
  process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exit(1);
}
