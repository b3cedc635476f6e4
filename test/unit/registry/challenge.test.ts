import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseChallenges } from '../../../shared/registry/challenge';

describe('parseChallenges', () => {
  it('reads a Bearer challenge as the distribution token flow sends it', () => {
    assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
    ]);
  });
  it('reads Basic, unquoted values, escapes, and several challenges in one header', () => {
    assert.deepEqual(parseChallenges('Basic realm="Registry \\"Realm\\"", Bearer realm=https://a/t, error="invalid_token"'), [
      { scheme: 'basic', params: { realm: 'Registry "Realm"' } },
      { scheme: 'bearer', params: { realm: 'https://a/t', error: 'invalid_token' } },
    ]);
  });
  it('a scope with commas inside quotes stays one value', () => {
    const [c] = parseChallenges('Bearer realm="r",scope="repository:a:pull,push"');
    assert.equal(c?.params['scope'], 'repository:a:pull,push');
  });
  it('nothing for no header or garbage', () => {
    assert.deepEqual(parseChallenges(null), []);
    assert.deepEqual(parseChallenges(''), []);
    assert.deepEqual(parseChallenges('=,='), []);
  });
});
