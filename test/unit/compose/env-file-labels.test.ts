import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertFails, load, service, yaml } from './helpers';

const NS = 'com.docker.stack.namespace';

describe('env_file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compose-envfile-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'common.env'), '# shared\nLEVEL=info\nREGION=eu\nQUOTED="a b"\nRAW=$NOT_INTERPOLATED\n');
  writeFileSync(join(dir, 'web.env'), 'LEVEL=debug\nPORT=8080\n');
  writeFileSync(join(dir, 'broken.env'), 'this is not a variable\n');

  const envOf = (lines: string, env: Record<string, string> = {}): string[] =>
    service(load(`services:\n  web:\n    image: busybox\n${lines}`, { dir, env }), 'test_web').task.container.env;

  const cases: [string, string, string[]][] = [
    ['one file', '    env_file: common.env\n', ['LEVEL=info', 'REGION=eu', 'QUOTED=a b', 'RAW=$NOT_INTERPOLATED']],
    ['later files override earlier ones', '    env_file: [common.env, ./web.env]\n', ['LEVEL=debug', 'REGION=eu', 'QUOTED=a b', 'RAW=$NOT_INTERPOLATED', 'PORT=8080']],
    ['environment overrides the files', '    env_file: web.env\n    environment:\n      PORT: "9090"\n      EXTRA: x\n', ['LEVEL=debug', 'PORT=9090', 'EXTRA=x']],
    ['an absolute path', `    env_file: ${join(dir, 'web.env')}\n`, ['LEVEL=debug', 'PORT=8080']],
    ['long form', '    env_file:\n      - path: web.env\n      - path: missing.env\n        required: false\n', ['LEVEL=debug', 'PORT=8080']],
    ['long form, required as a YAML 1.1 boolean', '    env_file:\n      - {path: missing.env, required: no}\n', []],
    ['a value-less environment entry whose variable is unset drops the file value, as docker does', '    env_file: web.env\n    environment: [LEVEL]\n', ['PORT=8080']],
  ];
  for (const [title, lines, want] of cases) {
    it(title, () => assert.deepEqual(envOf(lines), want));
  }

  it('a value-less environment entry takes the variable, over the file', () => {
    assert.deepEqual(envOf('    env_file: web.env\n    environment: [LEVEL]\n', { LEVEL: 'trace' }), ['LEVEL=trace', 'PORT=8080']);
  });

  it('refuses a missing required file, naming it', () => {
    assertFails('services:\n  web:\n    image: busybox\n    env_file: [web.env, nope.env]\n', new RegExp(`^services\\.web\\.env_file\\[1\\]: open ${dir}/nope\\.env: no such file or directory \\(line 4\\)$`), 4, { dir });
  });

  it('refuses a file that is not in the .env format', () => {
    assertFails('services:\n  web:\n    image: busybox\n    env_file: broken.env\n', /services\.web\.env_file: .*broken\.env: expected KEY=VALUE, got "this is not a variable" \(line 1\)/, 4, { dir });
  });

  it('refuses an entry of the wrong shape', () => {
    assertFails('services:\n  web:\n    image: busybox\n    env_file:\n      - {required: true}\n', /services\.web\.env_file\[0\]: missing required key "path"/, 5, { dir });
    assertFails('services:\n  web:\n    image: busybox\n    env_file: [1]\n', /services\.web\.env_file\[0\]: must be a file name or a mapping with "path", got 1/, 4, { dir });
  });
});

describe('labels and deploy.labels', () => {
  it('container labels and service labels, list or map, each with the namespace label', () => {
    const stack = load(yaml`
      services:
        web:
          image: busybox
          labels:
            com.example.description: "Accounting webapp"
            com.example.empty:
            com.example.number: 1.50
            com.example.flag: true
            com.example.template: "{{.Task.Slot}}"
          deploy:
            labels: [com.example.tier=front, com.example.bare, "com.example.eq=a=b"]
        api:
          image: busybox
          labels: ["a=1"]
          deploy:
            labels: {team: core}
    `);
    assert.deepEqual(stack.warnings, []);
    const web = service(stack, 'test_web');
    assert.deepEqual(web.task.container.labels, {
      'com.example.description': 'Accounting webapp',
      'com.example.empty': '',
      'com.example.number': '1.50',
      'com.example.flag': 'true',
      // Labels are not templated: they stay as written.
      'com.example.template': '{{.Task.Slot}}',
      [NS]: 'test',
    });
    assert.deepEqual(web.labels, { 'com.example.tier': 'front', 'com.example.bare': '', 'com.example.eq': 'a=b', [NS]: 'test' });
    const api = service(stack, 'test_api');
    assert.deepEqual(api.task.container.labels, { a: '1', [NS]: 'test' });
    assert.deepEqual(api.labels, { team: 'core', [NS]: 'test' });
  });

  it('the namespace label cannot be overridden', () => {
    const s = service(load(`services:\n  web:\n    image: busybox\n    labels: {${NS}: other}\n`), 'test_web');
    assert.equal(s.task.container.labels[NS], 'test');
  });

  it('refuses labels of the wrong shape', () => {
    assertFails('services:\n  web:\n    image: busybox\n    labels: a=b\n', /services\.web\.labels: must be a list of "key=value" strings or a mapping/, 4);
    assertFails('services:\n  web:\n    image: busybox\n    deploy:\n      labels:\n        a: [1]\n', /services\.web\.deploy\.labels\.a: must be a string, number, boolean or null, got a list/, 6);
    assertFails('services:\n  web:\n    image: busybox\n    labels: ["=x"]\n', /services\.web\.labels\[0\]: label name must not be empty/, 4);
  });
});
