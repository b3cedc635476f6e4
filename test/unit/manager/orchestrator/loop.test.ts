import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReconcileLoop } from '../../../../manager/orchestrator/loop';
import type { Store } from '../../../../manager/store/store';
import { NotLeaderError } from '../../../../shared/errors';
import { createLogger } from '../../../../shared/log';

/** The loop needs only watch() of the store. */
function fakeStore(): { store: Store; watching: () => number } {
  let watching = 0;
  const store = {
    watch: async () => {
      watching++;
      return async () => {
        watching--;
      };
    },
  } as unknown as Store;
  return { store, watching: () => watching };
}

async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (f()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never: ${what}`);
}

describe('ReconcileLoop', () => {
  it('stops on a write refused for leadership instead of retrying it', async () => {
    const { store, watching } = fakeStore();
    let passes = 0;
    const loop = new ReconcileLoop({
      name: 'test', store, prefixes: ['/x/'], log: createLogger('test', 'error'), gapMs: 1,
      pass: async () => {
        passes++;
        throw new NotLeaderError('not the leader', 'election/k');
      },
    });
    await loop.start();
    await until('the watch is stopped', () => watching() === 0);
    // A conflict would be retried after 40 ms; a refusal never is.
    await new Promise((r) => setTimeout(r, 200));
    loop.markDirty();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(passes, 1);
    await loop.stop();
  });

  it('retries other failures', async () => {
    const { store } = fakeStore();
    let passes = 0;
    const loop = new ReconcileLoop({
      name: 'test', store, prefixes: ['/x/'], log: createLogger('test', 'error'), gapMs: 1,
      pass: async () => {
        passes++;
        if (passes === 1) throw new Error('etcd hiccup');
        return { retry: false };
      },
    });
    await loop.start();
    await until('a second pass', () => passes === 2);
    await loop.stop();
  });

  it('stopped while starting, it cancels the watch it was setting up', async () => {
    const { store, watching } = fakeStore();
    const loop = new ReconcileLoop({ name: 'test', store, prefixes: ['/x/'], log: createLogger('test', 'error'), pass: async () => ({ retry: false }) });
    const started = loop.start();
    await loop.stop();
    await started;
    assert.equal(watching(), 0);
  });
});
