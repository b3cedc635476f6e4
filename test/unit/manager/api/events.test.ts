import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventLog, matches, parseEventFilters } from '../../../../manager/api/events';
import type { StoreView } from '../../../../manager/store/view';
import type { Versioned } from '../../../../manager/store/store';
import { Keys } from '../../../../shared/keys';
import type { ClusterEvent } from '../../../../shared/api-types';
import { eventLine, parseTime } from '../../../../cli/commands/events';
import { node, service, task } from '../../fixtures';

/** The part of a StoreView the event log reads, over a map the test changes. */
class FakeView {
  readonly data = new Map<string, unknown>();
  private listener: ((key: string) => void) | null = null;
  list<T>(prefix: string): Versioned<T>[] {
    return [...this.data].filter(([k]) => k.startsWith(prefix)).map(([key, value]) => ({ key, value: value as T, modRevision: '1' }));
  }
  get<T>(key: string): Versioned<T> | null {
    return this.data.has(key) ? { key, value: this.data.get(key) as T, modRevision: '1' } : null;
  }
  subscribe(_p: readonly string[], l: (key: string) => void): () => void {
    this.listener = l;
    return () => (this.listener = null);
  }
  put(key: string, v: unknown): void {
    this.data.set(key, v);
    this.listener?.(key);
  }
  del(key: string): void {
    this.data.delete(key);
    this.listener?.(key);
  }
}

describe('EventLog', () => {
  it('turns the view changes into create, update and remove events, saying what moved', () => {
    const view = new FakeView();
    const web = service({ id: 's1', name: 'web' });
    view.data.set(Keys.service('s1'), web);
    let clock = 1_000;
    const log = new EventLog(view as unknown as StoreView, () => clock);
    log.start();
    const seen: ClusterEvent[] = [];
    log.follow((e) => seen.push(e));
    const t = task(web, { id: 't1', nodeId: 'n1', state: 'pending' });
    view.put(Keys.task('t1'), t);
    clock = 2_000;
    view.put(Keys.task('t1'), { ...t, status: { ...t.status, state: 'running' } });
    view.put(Keys.task('t1'), { ...t, status: { ...t.status, state: 'running' } });
    view.put(Keys.service('s1'), { ...web, updateStatus: { state: 'updating', startedAt: '', completedAt: null, message: '' } });
    view.put(Keys.node('n1'), node('n1'));
    view.put(Keys.node('n1'), node('n1', { state: 'down' }));
    view.del(Keys.task('t1'));
    assert.deepEqual(seen.map((e) => [e.type, e.action, e.actor.id]), [
      ['task', 'create', 't1'], ['task', 'update', 't1'], ['service', 'update', 's1'], ['node', 'create', 'n1'], ['node', 'update', 'n1'], ['task', 'remove', 't1'],
    ]);
    assert.deepEqual(seen[1]!.actor.attributes, { name: 'web.1', service: 'web', 'state.old': 'pending', 'state.new': 'running' });
    assert.deepEqual(seen[2]!.actor.attributes, { name: 'web', 'updatestate.old': '', 'updatestate.new': 'updating' });
    assert.deepEqual(seen[4]!.actor.attributes, { name: 'host-n1', 'state.old': 'ready', 'state.new': 'down' });
    assert.equal(seen[1]!.time, 2);
    assert.equal(seen[1]!.timeNano, 2_000 * 1e6);
    assert.deepEqual(log.since(1_500).map((e) => e.actor.id), ['t1', 's1', 'n1', 'n1', 't1']);
  });

  it('filters as Docker does; a bad filter is one line', () => {
    const e: ClusterEvent = { type: 'service', action: 'update', actor: { id: 'abcdef', attributes: { name: 'web' } }, scope: 'swarm', time: 1, timeNano: 1e9 };
    const f = (...x: string[]) => parseEventFilters(x) as Exclude<ReturnType<typeof parseEventFilters>, string>;
    assert.equal(matches(e, f('type=service')), true);
    assert.equal(matches(e, f('type=task')), false);
    assert.equal(matches(e, f('type=task', 'type=service', 'name=web')), true);
    assert.equal(matches(e, f('name=db')), false);
    assert.equal(matches(e, f('id=abc')), true);
    assert.equal(matches(e, f('event=update')), true);
    assert.match(parseEventFilters(['type=volume']) as string, /type is one of service, task, node, network, secret, config/);
    assert.match(parseEventFilters(['colour=red']) as string, /^invalid filter "colour=red"/);
  });

  it('prints Docker\'s line and reads Docker\'s times', () => {
    const e: ClusterEvent = { type: 'node', action: 'update', actor: { id: 'n1', attributes: { name: 'h1', 'state.new': 'down', 'state.old': 'ready' } }, scope: 'swarm', time: 1700000000, timeNano: 1700000000123456789 };
    assert.match(eventLine(e), /^2023-11-14T22:13:20\.123000000Z node update n1 \(name=h1, state.new=down, state.old=ready\)$/);
    assert.equal(parseTime('since', '10m', 1_000_000), 1_000_000 - 600_000);
    assert.equal(parseTime('since', '1700000000'), 1700000000000);
    assert.equal(parseTime('since', '2026-12-01T10:00:00Z'), Date.parse('2026-12-01T10:00:00Z'));
    assert.throws(() => parseTime('since', 'yesterday'), /invalid --since "yesterday"/);
  });
});
