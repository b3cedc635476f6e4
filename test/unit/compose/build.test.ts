/** `build:` in a stack file: what tsswarm builds before the deploy (Swarm ignores the key). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadStackText } from '../../../shared/compose';
import { ComposeError } from '../../../shared/errors';

const load = (text: string) => loadStackText(text, { name: 'app', env: {}, filename: 'stack.yml', dir: '/srv/app', dotenv: {} });

describe('build: in a stack file', () => {
  it('a context path: built as <stack>-<service>:latest, which the service runs', () => {
    const s = load('services:\n  web:\n    build: ./web\n');
    assert.deepEqual(s.builds, [{ service: 'app_web', image: 'app-web:latest', context: '/srv/app/web', dockerfile: null, args: {}, target: null, network: null, noCache: false }]);
    assert.equal(s.services[0]!.task.container.image, 'app-web:latest');
    assert.deepEqual(s.warnings, []);
  });

  it('a mapping with image:, dockerfile, args as a list, target, network, no_cache; BuildKit-only keys are warnings', () => {
    const s = load('services:\n  api:\n    image: reg.example:5000/team/api:2\n    build:\n      context: ../src\n      dockerfile: api.Dockerfile\n      args: ["A=1", "B"]\n      target: prod\n      network: none\n      no_cache: true\n      cache_from: [x]\n');
    assert.deepEqual(s.builds, [{ service: 'app_api', image: 'reg.example:5000/team/api:2', context: '/srv/src', dockerfile: 'api.Dockerfile', args: { A: '1', B: '' }, target: 'prod', network: 'none', noCache: true }]);
    assert.deepEqual(s.warnings, ['Ignoring unsupported options: build.cache_from']);
  });

  it('refuses a network the builder does not have, with its line', () => {
    assert.throws(() => load('services:\n  web:\n    build:\n      network: bridge\n'), (e: unknown) => e instanceof ComposeError && /services\.web\.build\.network: must be default, host or none/.test(e.message));
  });

  it('a stack without build: has no builds', () => {
    assert.equal(load('services:\n  web:\n    image: busybox\n').builds, undefined);
  });
});
