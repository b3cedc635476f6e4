import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceSpec } from '../../../shared/types';
import { assertFails, load, problemsOf, service } from './helpers';

/** A service `web` with `deploy:` holding `lines` (indented under deploy); deploy's first line is line 5. */
function withDeploy(lines: string): string {
  return `services:\n  web:\n    image: busybox\n    deploy:\n${lines.replace(/^/gm, '      ')}\n`;
}
function webOf(text: string): ServiceSpec {
  const stack = load(text);
  assert.deepEqual(stack.warnings, []);
  return service(stack, 'test_web');
}

describe('deploy.x-tsswarm.rebalance', () => {
  it('auto and manual land in the service spec', () => {
    assert.equal(webOf(withDeploy('x-tsswarm:\n  rebalance: auto')).rebalance, 'auto');
    assert.equal(webOf(withDeploy('x-tsswarm:\n  rebalance: manual')).rebalance, 'manual');
    assert.equal(webOf(withDeploy('replicas: 3\nx-tsswarm: {rebalance: auto}')).rebalance, 'auto');
  });

  it('the rest of deploy is read as before beside it', () => {
    const s = webOf(withDeploy('replicas: 3\nx-tsswarm:\n  rebalance: auto\nplacement: {max_replicas_per_node: 2}'));
    assert.deepEqual([s.replicas, s.task.placement.maxReplicas, s.rebalance], [3, 2, 'auto']);
  });

  it('absent: no rebalance key at all', () => {
    for (const text of [withDeploy('replicas: 2'), 'services:\n  web:\n    image: busybox\n', withDeploy('x-tsswarm: {}'), withDeploy('x-tsswarm:')]) {
      const s = webOf(text);
      assert.equal(Object.hasOwn(s, 'rebalance'), false, text);
    }
  });

  it('refuses a value other than auto or manual, naming deploy.x-tsswarm.rebalance', () => {
    assertFails(withDeploy('x-tsswarm:\n  rebalance: bogus'), /^services\.web\.deploy\.x-tsswarm\.rebalance: must be auto or manual, got "bogus" \(line 6\)$/, 6);
    assertFails(withDeploy('x-tsswarm:\n  rebalance: Auto'), /deploy\.x-tsswarm\.rebalance: must be auto or manual, got "Auto"/, 6);
    assertFails(withDeploy('x-tsswarm:\n  rebalance: 1'), /deploy\.x-tsswarm\.rebalance: must be a string, got 1/, 6);
  });

  it('refuses an unknown key under x-tsswarm, naming it', () => {
    assertFails(withDeploy('x-tsswarm:\n  rebalanse: auto'), /^services\.web\.deploy\.x-tsswarm\.rebalanse: unknown key \(rebalance\) \(line 6\)$/, 6);
    const problems = problemsOf(withDeploy('x-tsswarm:\n  rebalance: auto\n  colour: red'));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /deploy\.x-tsswarm\.colour: unknown key/);
  });

  it('refuses an x-tsswarm that is not a mapping', () => {
    assertFails(withDeploy('x-tsswarm: auto'), /deploy\.x-tsswarm: must be a mapping/, 5);
  });

  it('other x- keys under deploy stay ignored', () => {
    assert.equal(Object.hasOwn(webOf(withDeploy('x-other: {rebalance: bogus}')), 'rebalance'), false);
  });
});
