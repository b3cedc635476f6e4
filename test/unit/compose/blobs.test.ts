import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ConfigReference, SecretReference } from '../../../shared/types';
import { assertFails, load, problemsOf, service, yaml } from './helpers';

const NS = 'com.docker.stack.namespace';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

const dir = mkdtempSync(join(tmpdir(), 'compose-blobs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'db_pass.txt'), 's3cret\n');
writeFileSync(join(dir, 'binary.bin'), Buffer.from([0, 255, 1, 254]));
mkdirSync(join(dir, 'conf'));
writeFileSync(join(dir, 'conf', 'nginx.conf'), 'worker_processes 1;\n');
writeFileSync(join(dir, 'empty.txt'), '');
writeFileSync(join(dir, 'big.bin'), Buffer.alloc(500 * 1024 + 1));

const loadIn = (text: string, env: Record<string, string> = {}): ReturnType<typeof load> => load(text, { dir, env });

describe('secrets and configs: the top-level definitions', () => {
  it('reads file, environment and content now, and names them in the stack', () => {
    const stack = loadIn(
      yaml`
      services:
        web: {image: busybox}
      secrets:
        db_pass:
          file: ./db_pass.txt
          labels: [tier=db]
        api_key:
          environment: API_KEY
        raw:
          file: ${join(dir, 'binary.bin')}
        shared_cert:
          external: true
        old_style:
          external: {name: legacy-cert}
        renamed:
          file: db_pass.txt
          name: prod-db-pass
      configs:
        nginx:
          file: conf/nginx.conf
          labels: {version: 2}
        motd:
          content: hello from the stack
        from_env:
          environment: MOTD
        site:
          external: yes
          name: site-config
    `,
      { API_KEY: 'k-123', MOTD: 'welcome' },
    );
    assert.deepEqual(stack.warnings, []);
    assert.deepEqual(stack.secrets, [
      { key: 'db_pass', external: false, spec: { name: 'test_db_pass', labels: { tier: 'db', [NS]: 'test' } }, data: b64('s3cret\n') },
      { key: 'api_key', external: false, spec: { name: 'test_api_key', labels: { [NS]: 'test' } }, data: b64('k-123') },
      { key: 'raw', external: false, spec: { name: 'test_raw', labels: { [NS]: 'test' } }, data: Buffer.from([0, 255, 1, 254]).toString('base64') },
      { key: 'shared_cert', external: true, spec: { name: 'shared_cert', labels: {} }, data: null },
      { key: 'old_style', external: true, spec: { name: 'legacy-cert', labels: {} }, data: null },
      { key: 'renamed', external: false, spec: { name: 'prod-db-pass', labels: { [NS]: 'test' } }, data: b64('s3cret\n') },
    ]);
    assert.deepEqual(stack.configs, [
      { key: 'nginx', external: false, spec: { name: 'test_nginx', labels: { version: '2', [NS]: 'test' } }, data: b64('worker_processes 1;\n') },
      { key: 'motd', external: false, spec: { name: 'test_motd', labels: { [NS]: 'test' } }, data: b64('hello from the stack') },
      { key: 'from_env', external: false, spec: { name: 'test_from_env', labels: { [NS]: 'test' } }, data: b64('welcome') },
      { key: 'site', external: true, spec: { name: 'site-config', labels: {} }, data: null },
    ]);
  });

  it('an empty config is allowed, an empty secret is not', () => {
    const stack = loadIn('services:\n  web: {image: busybox}\nconfigs:\n  e: {file: empty.txt}\n');
    assert.equal(stack.configs[0]?.data, '');
    assertFails('services:\n  web: {image: busybox}\nsecrets:\n  e: {file: empty.txt}\n', /^secrets\.e: secret e is empty \(line 4\)$/, 4, { dir });
  });

  it('warns that template_driver is not supported', () => {
    const stack = loadIn('services:\n  web: {image: busybox}\nconfigs:\n  c:\n    content: x\n    template_driver: golang\n');
    assert.deepEqual(stack.warnings, ['configs.c.template_driver: templated configs are not supported; the config is used as it is']);
    assert.equal(stack.configs[0]?.data, b64('x'));
  });

  const errors: [string, string, RegExp, number][] = [
    ['a missing file', 'secrets:\n  db_pass:\n    file: ./nope.txt\n', new RegExp(`^secrets\\.db_pass\\.file: open ${dir}/nope\\.txt: no such file or directory \\(line 5\\)$`), 5],
    ['a folder as the file', 'secrets:\n  d:\n    file: conf\n', /secrets\.d\.file: open .*\/conf: is a directory/, 5],
    ['an unset variable', 'secrets:\n  k:\n    environment: NOT_SET\n', /^secrets\.k\.environment: secret k: variable NOT_SET is not set \(line 5\)$/, 5],
    ['no source', 'secrets:\n  k:\n    labels: [a]\n', /^secrets\.k: secret k needs one of file, environment \(or external: true\)/, 4],
    ['two sources', 'configs:\n  k:\n    file: a\n    content: b\n', /^configs\.k: config k has file and content: give only one/, 4],
    ['content for a secret', 'secrets:\n  k:\n    content: x\n', /^secrets\.k\.content: unknown key/, 5],
    ['external with a file', 'secrets:\n  k:\n    external: true\n    file: x\n', /secrets\.k\.file: conflicting parameters "external" and "file" specified/, 6],
    ['external with labels', 'configs:\n  k:\n    external: true\n    labels: [a=b]\n', /configs\.k\.labels: conflicting parameters "external" and "labels"/, 6],
    ['a secret driver', 'secrets:\n  k:\n    driver: vault\n', /secrets\.k\.driver: secret drivers \(plugins\) are not supported/, 5],
    ['an invalid name', 'secrets:\n  k:\n    file: db_pass.txt\n    name: "bad name"\n', /secrets\.k\.name: invalid secret name "bad name"/, 6],
    ['too big', 'secrets:\n  k:\n    file: big.bin\n', /secrets\.k: secret k is 512001 bytes, more than the 512000 \(500 KiB\) allowed/, 4],
    ['not a mapping', 'secrets:\n  k: ./file\n', /^secrets\.k: must be a mapping with file, environment or external, got "\.\/file"/, 4],
    ['external not a boolean', 'secrets:\n  k:\n    external: sure\n', /secrets\.k\.external: must be true or false, got "sure"/, 5],
  ];
  for (const [title, def, pattern, line] of errors) {
    it(`refuses ${title}`, () => assertFails(`services:\n  web: {image: busybox}\n${def}`, pattern, line, { dir }));
  }

  it('refuses two keys naming one secret', () => {
    assert.deepEqual(problemsOf('services:\n  web: {image: busybox}\nsecrets:\n  a: {file: db_pass.txt, name: same}\n  b: {environment: X, name: same}\n', { dir, env: { X: 'x' } }), [
      'secrets.b: secret name "same" is already used by secrets.a (line 5)',
    ]);
  });
});

describe('secrets and configs: what services are given', () => {
  const top = 'secrets:\n  db_pass: {file: db_pass.txt}\n  ext: {external: true, name: shared-key}\nconfigs:\n  nginx: {file: conf/nginx.conf}\n  motd: {content: hi, name: global-motd}\n';
  const refsOf = (lines: string): { secrets: SecretReference[]; configs: ConfigReference[] } => {
    const c = service(loadIn(`services:\n  web:\n    image: busybox\n${lines}${top}`), 'test_web').task.container;
    return { secrets: c.secrets, configs: c.configs };
  };
  const secret = (name: string, target: string, uid = '0', gid = '0', mode = 0o444): SecretReference => ({ secretId: '', secretName: name, file: { name: target, uid, gid, mode } });
  const config = (name: string, target: string, uid = '0', gid = '0', mode = 0o444): ConfigReference => ({ configId: '', configName: name, file: { name: target, uid, gid, mode } });

  it('short form: docker/cli defaults', () => {
    assert.deepEqual(refsOf('    secrets: [db_pass, ext]\n    configs: [nginx, motd]\n'), {
      secrets: [secret('test_db_pass', 'db_pass'), secret('shared-key', 'ext')],
      configs: [config('test_nginx', '/nginx'), config('global-motd', '/motd')],
    });
  });

  // [written, the file target it gives]
  const longForms: [string, SecretReference][] = [
    ['{source: db_pass, target: password}', secret('test_db_pass', 'password')],
    ['{source: db_pass, target: /etc/app/password}', secret('test_db_pass', '/etc/app/password')],
    ['{source: db_pass, uid: "1000", gid: "1000"}', secret('test_db_pass', 'db_pass', '1000', '1000')],
    ['{source: db_pass, uid: 103, gid: 0}', secret('test_db_pass', 'db_pass', '103', '0')],
    ['{source: db_pass, mode: 0440}', secret('test_db_pass', 'db_pass', '0', '0', 0o440)],
    ['{source: db_pass, mode: "0440"}', secret('test_db_pass', 'db_pass', '0', '0', 0o440)],
    ['{source: db_pass, mode: 0o400}', secret('test_db_pass', 'db_pass', '0', '0', 0o400)],
    ['{source: db_pass, mode: 288}', secret('test_db_pass', 'db_pass', '0', '0', 288)],
    ['{source: db_pass, mode: 0}', secret('test_db_pass', 'db_pass', '0', '0', 0)],
  ];
  for (const [written, want] of longForms) {
    it(`long form ${written}`, () => assert.deepEqual(refsOf(`    secrets:\n      - ${written}\n`).secrets, [want]));
  }

  it('long form of configs: a relative target is under /', () => {
    assert.deepEqual(refsOf('    configs:\n      - {source: nginx, target: /etc/nginx/nginx.conf, mode: 0400}\n      - {source: motd, target: etc/motd}\n').configs, [
      config('test_nginx', '/etc/nginx/nginx.conf', '0', '0', 0o400),
      config('global-motd', '/etc/motd'),
    ]);
  });

  it('a mode through a variable is octal too', () => {
    const c = service(load(`services:\n  web:\n    image: busybox\n    secrets: [{source: db_pass, mode: "\${MODE}"}]\n${top}`, { dir, env: { MODE: '0400' } }), 'test_web').task.container;
    assert.equal(c.secrets[0]?.file.mode, 0o400);
  });

  const errors: [string, string, RegExp, number][] = [
    ['an undefined secret', '    secrets: [nope]\n', /^services\.web\.secrets\[0\]: service web refers to undefined secret nope: declare it in the top-level secrets \(line 4\)$/, 4],
    ['an undefined config', '    configs:\n      - source: nope\n', /^services\.web\.configs\[0\]: service web refers to undefined config nope/, 5],
    ['no source', '    secrets:\n      - target: x\n', /services\.web\.secrets\[0\]: missing required key "source"/, 5],
    ['a bad mode', '    secrets:\n      - {source: db_pass, mode: 0999}\n', /secrets\[0\]\.mode: must be a file mode from 0 to 0777 such as 0440 \(octal\), got 0999/, 5],
    ['a mode too large', '    secrets:\n      - {source: db_pass, mode: 01777}\n', /secrets\[0\]\.mode: must be a file mode from 0 to 0777/, 5],
    ['a mode that is text', '    configs:\n      - {source: nginx, mode: rw}\n', /configs\[0\]\.mode: must be a file mode/, 5],
    ['a bad uid', '    secrets:\n      - {source: db_pass, uid: root}\n', /secrets\[0\]\.uid: must be a numeric user or group id, got "root"/, 5],
    ['a target with ..', '    secrets:\n      - {source: db_pass, target: ../etc/shadow}\n', /secrets\[0\]: invalid target "\.\.\/etc\/shadow"/, 5],
    ['two with one target', '    secrets:\n      - {source: db_pass, target: k}\n      - {source: ext, target: k}\n', /secrets\[1\]: secrets db_pass and ext have the same target k/, 6],
    ['an unknown key', '    secrets:\n      - {source: db_pass, owner: me}\n', /secrets\[0\]\.owner: unknown key/, 5],
    ['not a list', '    secrets: db_pass\n', /services\.web\.secrets: must be a list of secret names/, 4],
  ];
  for (const [title, lines, pattern, line] of errors) {
    it(`refuses ${title}`, () => assertFails(`services:\n  web:\n    image: busybox\n${lines}${top}`, pattern, line, { dir }));
  }

  it('does not report references to a definition that is broken', () => {
    assert.deepEqual(problemsOf('services:\n  web:\n    image: busybox\n    secrets: [gone]\nsecrets:\n  gone: {file: missing.txt}\n', { dir }), [
      `secrets.gone.file: open ${dir}/missing.txt: no such file or directory (line 6)`,
    ]);
  });
});
