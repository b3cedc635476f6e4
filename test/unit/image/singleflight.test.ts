import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Singleflight } from '../../../shared/singleflight';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Work that finishes when told to, or rejects when its signal aborts. */
function controllable(): { work: (s: AbortSignal) => Promise<string>; finish: (v: string) => void; runs: () => number; signals: AbortSignal[] } {
  const gate = deferred<string>();
  const signals: AbortSignal[] = [];
  return {
    signals,
    runs: () => signals.length,
    finish: gate.resolve,
    work: (s) => {
      signals.push(s);
      return new Promise<string>((resolve, reject) => {
        s.addEventListener('abort', () => reject(s.reason));
        void gate.promise.then(resolve);
      });
    },
  };
}

describe('Singleflight', () => {
  it('runs concurrent callers of one key once', async () => {
    const sf = new Singleflight<string>();
    const c = controllable();
    const all = Promise.all([sf.run('k', undefined, c.work), sf.run('k', undefined, c.work), sf.run('k', undefined, c.work)]);
    await Promise.resolve();
    c.finish('v');
    assert.deepEqual(await all, ['v', 'v', 'v']);
    assert.equal(c.runs(), 1);
    assert.equal(sf.size, 0);
  });

  it('keeps the work going while one caller of several aborts', async () => {
    const sf = new Singleflight<string>();
    const c = controllable();
    const ac = new AbortController();
    const leaving = sf.run('k', ac.signal, c.work);
    const staying = sf.run('k', undefined, c.work);
    await new Promise((r) => setImmediate(r));
    ac.abort(new Error('gone'));
    await assert.rejects(leaving, /gone/);
    assert.equal(c.signals[0]?.aborted, false);
    c.finish('v');
    assert.equal(await staying, 'v');
  });

  it('aborts the work when the last caller leaves, and starts afresh after', async () => {
    const sf = new Singleflight<string>();
    const first = controllable();
    const ac = new AbortController();
    const p = sf.run('k', ac.signal, first.work);
    await new Promise((r) => setImmediate(r));
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.equal(first.signals[0]?.aborted, true);
    const second = controllable();
    const q = sf.run('k', undefined, second.work);
    await new Promise((r) => setImmediate(r));
    second.finish('again');
    assert.equal(await q, 'again');
  });

  it('rejects at once for an already aborted signal and shares failures', async () => {
    const sf = new Singleflight<string>();
    await assert.rejects(sf.run('k', AbortSignal.abort(new Error('early')), async () => 'x'), /early/);
    const failing = async (): Promise<string> => {
      throw new Error('boom');
    };
    await Promise.all([assert.rejects(sf.run('f', undefined, failing), /boom/), assert.rejects(sf.run('f', undefined, failing), /boom/)]);
  });
});
