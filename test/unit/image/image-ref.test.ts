import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../shared/errors';
import { familiarName, isValidImageName, normalizeImageRef, normalizeRegistryHost, parseImageRef, registryOf } from '../../../shared/image-ref';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseImageRef', () => {
  const valid: Array<[string, { name: string; tag: string | null; digest: string | null }]> = [
    ['busybox', { name: 'busybox', tag: null, digest: null }],
    ['busybox:1.36', { name: 'busybox', tag: '1.36', digest: null }],
    ['library/busybox:latest', { name: 'library/busybox', tag: 'latest', digest: null }],
    ['my-org/app_x/web.server:v1.2-rc_3', { name: 'my-org/app_x/web.server', tag: 'v1.2-rc_3', digest: null }],
    ['a__b/c---d', { name: 'a__b/c---d', tag: null, digest: null }],
    [`busybox@${D}`, { name: 'busybox', tag: null, digest: D }],
    [`busybox:1.36@${D}`, { name: 'busybox', tag: '1.36', digest: D }],
    ['localhost:5000/app', { name: 'localhost:5000/app', tag: null, digest: null }],
    ['localhost:5000/app:2', { name: 'localhost:5000/app', tag: '2', digest: null }],
    ['registry.example.com/team/app:TAG_1', { name: 'registry.example.com/team/app', tag: 'TAG_1', digest: null }],
    ['Registry.Example/app', { name: 'Registry.Example/app', tag: null, digest: null }],
    ['[::1]:5000/app:1', { name: '[::1]:5000/app', tag: '1', digest: null }],
    ['x:' + 'a'.repeat(128), { name: 'x', tag: 'a'.repeat(128), digest: null }],
  ];
  for (const [input, want] of valid) {
    it(`parses ${input.length > 60 ? input.slice(0, 60) + '…' : input}`, () => {
      assert.deepEqual(parseImageRef(input), want);
    });
  }

  const invalid: Array<[string, RegExp]> = [
    ['', /empty/],
    ['Busybox', /not a valid name component/],
    ['busybox:', /not a valid tag/],
    ['busybox:.hidden', /not a valid tag/],
    ['busybox:-x', /not a valid tag/],
    ['x:' + 'a'.repeat(129), /not a valid tag/],
    ['busy box', /not a valid name component/],
    ['a//b', /empty path component/],
    ['/busybox', /empty path component/],
    ['busybox/', /empty path component/],
    ['-busybox', /not a valid name component/],
    ['busybox-', /not a valid name component/],
    ['a..b', /not a valid name component/],
    ['a___b', /not a valid name component/],
    ['busybox@sha256:abc', /is not a digest/],
    ['busybox@sha256:' + 'A'.repeat(64), /is not a digest/],
    ['busybox@sha512:' + 'a'.repeat(128), /only sha256 digests are supported/],
    ['busybox@' + D + '@' + D, /is not a digest/],
    ['-bad.host/app', /not a valid registry host/],
    ['a'.repeat(256), /longer than 255/],
  ];
  for (const [input, why] of invalid) {
    it(`rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + '…' : input)}`, () => {
      assert.throws(
        () => parseImageRef(input),
        (e: unknown) => e instanceof InvalidArgumentError && why.test(e.message) && e.message.startsWith('invalid image reference'),
      );
    });
  }
});

describe('normalizeImageRef', () => {
  const table: Array<[string, string]> = [
    ['busybox', 'busybox:latest'],
    ['busybox:1.36', 'busybox:1.36'],
    [`busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, `busybox:1@${D}`],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    // Docker's familiar form: the default registry and library/ are implied.
    ['docker.io/library/busybox', 'busybox:latest'],
    ['index.docker.io/library/busybox:1', 'busybox:1'],
    ['docker.io/team/app:2', 'team/app:2'],
    ['library/busybox', 'busybox:latest'],
    ['library/team/app', 'library/team/app:latest'],
    ['ghcr.io/org/app', 'ghcr.io/org/app:latest'],
    ['registry-1.docker.io/library/busybox', 'registry-1.docker.io/library/busybox:latest'],
  ];
  for (const [input, want] of table) {
    it(`${input} → ${want}`, () => assert.equal(normalizeImageRef(input), want));
  }
  it('throws InvalidArgumentError with the reference in the message', () => {
    assert.throws(() => normalizeImageRef('UPPER:case'), { name: 'InvalidArgumentError', message: /invalid image reference "UPPER:case"/ });
  });
});

describe('isValidImageName', () => {
  it('accepts names and rejects refs with tags', () => {
    assert.equal(isValidImageName('team/app'), true);
    assert.equal(isValidImageName('team/app:1'), false);
    assert.equal(isValidImageName(''), false);
  });
});

describe('registryOf', () => {
  const table: Array<[string, string, string]> = [
    ['busybox', 'docker.io', 'library/busybox'],
    ['team/app', 'docker.io', 'team/app'],
    ['docker.io/busybox', 'docker.io', 'library/busybox'],
    ['index.docker.io/team/app', 'docker.io', 'team/app'],
    ['localhost/app', 'localhost', 'app'],
    ['localhost:5000/team/app', 'localhost:5000', 'team/app'],
    ['10.0.0.1:5000/app', '10.0.0.1:5000', 'app'],
    ['ghcr.io/org/app', 'ghcr.io', 'org/app'],
    ['[::1]:5000/app', '[::1]:5000', 'app'],
  ];
  for (const [name, registry, path] of table) {
    it(`${name} → ${registry} ${path}`, () => assert.deepEqual(registryOf(name), { registry, path }));
  }
  it('familiarName undoes what registryOf implies', () => {
    for (const [name] of table) assert.equal(familiarName(familiarName(name)), familiarName(name));
    assert.equal(familiarName('docker.io/library/busybox'), 'busybox');
  });
  it('normalizeRegistryHost', () => {
    assert.equal(normalizeRegistryHost('index.docker.io'), 'docker.io');
    assert.equal(normalizeRegistryHost('reg.example:5000'), 'reg.example:5000');
    assert.throws(() => normalizeRegistryHost('https://reg.example'), InvalidArgumentError);
    assert.throws(() => normalizeRegistryHost('reg example'), InvalidArgumentError);
  });
});
