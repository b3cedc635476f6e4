/**
 * Bad stack files fail with one line per problem, naming the key path and the line, and nothing
 * is deployed; several problems are all reported at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ComposeError } from '../../../shared/errors';
import { assertFails, load, problemsOf, yaml } from './helpers';

describe('bad input: one line each, with key path and line', () => {
  const cases: [string, string, RegExp, number][] = [
    ['a secret file that does not exist', 'services:\n  web: {image: busybox, secrets: [pw]}\nsecrets:\n  pw:\n    file: /no/such/pw.txt\n', /^secrets\.pw\.file: open \/no\/such\/pw\.txt: no such file or directory \(line 5\)$/, 5],
    ['a config file that does not exist', 'services:\n  web: {image: busybox}\nconfigs:\n  c:\n    file: ./c.conf\n', /^configs\.c\.file: open \/stacks\/myapp\/c\.conf: no such file or directory \(line 5\)$/, 5],
    ['an undefined secret', 'services:\n  web:\n    image: busybox\n    secrets: [pw]\n', /^services\.web\.secrets\[0\]: service web refers to undefined secret pw: declare it in the top-level secrets \(line 4\)$/, 4],
    ['an undefined config', 'services:\n  web:\n    image: busybox\n    configs: [c]\n', /^services\.web\.configs\[0\]: service web refers to undefined config c: declare it in the top-level configs \(line 4\)$/, 4],
    ['an undefined volume', 'services:\n  web:\n    image: busybox\n    volumes: ["data:/data"]\n', /^services\.web\.volumes\[0\]: service web refers to undefined volume data: declare it in the top-level volumes \(line 4\)$/, 4],
    ['an unknown constraint field', 'services:\n  web:\n    image: busybox\n    deploy:\n      placement:\n        constraints: ["node.zone == a"]\n', /^services\.web\.deploy\.placement\.constraints\[0\]: unknown constraint field "node\.zone"/, 6],
    ['a malformed constraint', 'services:\n  web:\n    image: busybox\n    deploy:\n      placement:\n        constraints: ["node.role = manager"]\n', /^services\.web\.deploy\.placement\.constraints\[0\]: constraint expected one operator from ==, !=/, 6],
    ['max_replicas_per_node below zero', 'services:\n  web:\n    image: busybox\n    deploy:\n      placement:\n        max_replicas_per_node: -2\n', /^services\.web\.deploy\.placement\.max_replicas_per_node: must be a non-negative integer, got -2 \(line 6\)$/, 6],
    ['a bad secret mode', 'services:\n  web:\n    image: busybox\n    secrets:\n      - {source: s, mode: 0888}\nsecrets:\n  s: {environment: HOME}\n', /^services\.web\.secrets\[0\]\.mode: must be a file mode from 0 to 0777 such as 0440 \(octal\), got 0888 \(line 5\)$/, 5],
    ['a bad tmpfs size', 'services:\n  web:\n    image: busybox\n    volumes:\n      - {type: tmpfs, target: /t, tmpfs: {size: "-1"}}\n', /^services\.web\.volumes\[0\]\.tmpfs\.size: must be a positive size/, 5],
    ['a bad duration', 'services:\n  web:\n    image: busybox\n    healthcheck:\n      timeout: 1 minute\n', /^services\.web\.healthcheck\.timeout: must be a duration such as 10s, 1m30s or 500ms, got "1 minute" \(line 5\)$/, 5],
    ['a bad log size', 'services:\n  web:\n    image: busybox\n    logging:\n      options:\n        max-size: ten\n', /^services\.web\.logging\.options\.max-size: must be a positive size such as 10m, got "ten" \(line 6\)$/, 6],
    ['a required variable', 'services:\n  web:\n    image: "busybox:${TAG:?set TAG to the release}"\n', /^services\.web\.image: required variable TAG is missing a value: set TAG to the release \(line 3\)$/, 3],
  ];
  for (const [title, text, pattern, line] of cases) {
    it(title, () => assertFails(text, pattern, line, { env: { HOME: '/root' } }));
  }

  it('reports all problems of a file together, sorted by line, and returns nothing', () => {
    const text = yaml`
      services:
        web:
          image: busybox
          secrets: [nope]
          volumes: ["data:/d", "/x:relative"]
          deploy:
            placement:
              constraints: ["node.colour == red"]
              max_replicas_per_node: -1
            update_config: {order: sideways}
      secrets:
        pw: {file: ./missing}
    `;
    assert.deepEqual(problemsOf(text), [
      'services.web.secrets[0]: service web refers to undefined secret nope: declare it in the top-level secrets (line 4)',
      'services.web.volumes[0]: service web refers to undefined volume data: declare it in the top-level volumes (line 5)',
      'services.web.volumes[1]: the mount target must be an absolute path, got "relative" (line 5)',
      'services.web.deploy.placement.constraints[0]: unknown constraint field "node.colour" in "node.colour == red": use node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<key>, engine.labels.<key> (line 8)',
      'services.web.deploy.placement.max_replicas_per_node: must be a non-negative integer, got -1 (line 9)',
      'services.web.deploy.update_config.order: must be stop-first or start-first, got "sideways" (line 10)',
      'secrets.pw.file: open /stacks/myapp/missing: no such file or directory (line 12)',
    ]);
  });

  it('a default is literal text, so a bcrypt hash as a default loads', () => {
    const stack = load('services:\n  web:\n    image: busybox\n    environment:\n      HASH: ${ADMIN_HASH:-$2y$05$abcdefghij}\n');
    assert.deepEqual(stack.services[0]?.task.container.env, ['HASH=$2y$05$abcdefghij']);
    assert.deepEqual(stack.warnings, []);
  });

  it('warns about an operator written without braces, as docker reads it', () => {
    const stack = load('services:\n  web:\n    image: "busybox:$TAG-musl"\n', { env: { TAG: '1.36' } });
    assert.equal(stack.services[0]?.task.container.image, 'busybox:1.36');
    assert.deepEqual(stack.warnings, ['services.web.image: $TAG-musl is read as ${TAG-musl}, as docker does (line 3); write ${TAG}-musl for the value followed by "-musl"']);
  });

  it('errors are ComposeErrors carrying the file and first line', () => {
    try {
      load('services:\n  web:\n    image: busybox\n    volumes: [x:/x]\n');
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof ComposeError);
      assert.equal(e.file, 'stack.yml');
      assert.equal(e.line, 4);
    }
  });
});
