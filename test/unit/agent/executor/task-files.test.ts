import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidMountError } from '../../../../agent/executor/errors';
import { taskFileLayout, taskFileMounts } from '../../../../agent/executor/task-files';
import type { ConfigReference, SecretReference } from '../../../../shared/types';

const secret = (name: string, over: Partial<SecretReference['file']> = {}): SecretReference => ({
  secretId: `id-${name}`,
  secretName: name,
  file: { name, uid: '0', gid: '0', mode: 0o444, ...over },
});
const config = (name: string, target: string, over: Partial<ConfigReference['file']> = {}): ConfigReference => ({
  configId: `id-${name}`,
  configName: name,
  file: { name: target, uid: '0', gid: '0', mode: 0o444, ...over },
});

describe('taskFileLayout (secrets and configs as files)', () => {
  it('secrets under /run/secrets, an absolute name as given; configs at their target; ids, owners and modes', () => {
    const files = taskFileLayout({
      secrets: [secret('db_pass', { uid: '1000', gid: '1001', mode: 0o400 }), secret('tls', { name: '/etc/ssl/private/key.pem' })],
      configs: [config('nginx', '/etc/nginx/nginx.conf', { mode: 0o644 }), config('rel', 'app/config.yml')],
    });
    assert.deepEqual(
      files.map((f) => [f.kind, f.id, f.hostName, f.target, f.uid, f.gid, f.mode.toString(8)]),
      [
        ['secret', 'id-db_pass', 'secret-0', '/run/secrets/db_pass', 1000, 1001, '400'],
        ['secret', 'id-tls', 'secret-1', '/etc/ssl/private/key.pem', 0, 0, '444'],
        ['config', 'id-nginx', 'config-2', '/etc/nginx/nginx.conf', 0, 0, '644'],
        ['config', 'id-rel', 'config-3', '/app/config.yml', 0, 0, '444'],
      ],
    );
  });

  it('the same secret twice gets two files (each with its own mode)', () => {
    const files = taskFileLayout({ secrets: [secret('a', { mode: 0o400 }), secret('a', { name: 'copy', mode: 0o444 })], configs: [] });
    assert.deepEqual(files.map((f) => f.hostName), ['secret-0', 'secret-1']);
  });

  const bad: [string, SecretReference][] = [
    ['a name with ..', secret('x', { name: '../etc/passwd' })],
    ['an empty name', secret('x', { name: '' })],
    ['a user name as uid', secret('x', { uid: 'root' })],
    ['a negative gid', secret('x', { gid: '-1' })],
    ['a mode beyond 07777', secret('x', { mode: 0o10000 })],
    ['the root as target', secret('x', { name: '/' })],
  ];
  for (const [name, ref] of bad) it(`refuses ${name}`, () => assert.throws(() => taskFileLayout({ secrets: [ref], configs: [] }), InvalidMountError));

  it('each file is bound read-only from the task\'s tmpfs; a secret is never executable, a config may be', () => {
    const files = taskFileLayout({ secrets: [secret('db_pass')], configs: [{ configId: 'c1', configName: 'entry', file: { name: '/entry.sh', uid: '0', gid: '0', mode: 0o755 } }] });
    assert.deepEqual(taskFileMounts('/run/tsswarm/files/t1', files), [
      { destination: '/run/secrets/db_pass', type: 'bind', source: '/run/tsswarm/files/t1/secret-0', options: ['rbind', 'ro', 'rprivate', 'nosuid', 'nodev', 'noexec'] },
      { destination: '/entry.sh', type: 'bind', source: '/run/tsswarm/files/t1/config-1', options: ['rbind', 'ro', 'rprivate', 'nosuid', 'nodev'] },
    ]);
  });
});
