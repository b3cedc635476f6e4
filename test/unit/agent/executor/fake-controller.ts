/**
 * A Controller that records its calls and does what the test says: succeed,
 * throw, or hang until its signal is aborted (then reject with an AbortError,
 * as the real runtime does).
 */
import type { Controller } from '../../../../agent/executor/controller';
import type { ExitStatus } from '../../../../agent/runtime/types';

export type Call = 'prepare' | 'start' | 'wait' | 'shutdown' | 'terminate' | 'remove' | 'running' | 'pause true' | 'pause false' | 'paused';

export type Behaviour<T> = { ok: T } | { fail: Error } | 'hang';

export interface FakeOptions {
  prepare?: Behaviour<void>;
  start?: Behaviour<number>;
  wait?: Behaviour<ExitStatus>;
  pause?: Behaviour<void>;
  /** What paused() answers (a frozen container found after an agent restart). */
  frozen?: boolean;
}

/** Resolves when `signal` aborts; rejects then with its AbortError. A hang without a signal never ends. */
function hang(signal: AbortSignal | null): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal === null) return;
    const abort = () => reject(signal.reason instanceof Error ? signal.reason : Object.assign(new Error('aborted'), { name: 'AbortError' }));
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  });
}

async function act<T>(b: Behaviour<T>, signal: AbortSignal | null): Promise<T> {
  if (b === 'hang') return hang(signal);
  if ('fail' in b) throw b.fail;
  return b.ok;
}

export class FakeController implements Controller {
  readonly calls: Call[] = [];
  /** Resolved the moment wait() is entered, so a test can act on a running task without sleeping. */
  readonly waiting: Promise<void>;
  private enteredWait: () => void = () => {};
  readonly preparing: Promise<void>;
  private enteredPrepare: () => void = () => {};

  constructor(private readonly o: FakeOptions = {}) {
    this.waiting = new Promise((r) => (this.enteredWait = r));
    this.preparing = new Promise((r) => (this.enteredPrepare = r));
  }

  prepare(signal: AbortSignal): Promise<void> {
    this.calls.push('prepare');
    this.enteredPrepare();
    return act(this.o.prepare ?? { ok: undefined }, signal);
  }

  start(): Promise<number> {
    this.calls.push('start');
    return act(this.o.start ?? { ok: 4242 }, null);
  }

  wait(signal: AbortSignal): Promise<ExitStatus> {
    this.calls.push('wait');
    this.enteredWait();
    return act(this.o.wait ?? { ok: { exitCode: 0, signal: null } }, signal);
  }

  async shutdown(): Promise<void> {
    this.calls.push('shutdown');
  }

  async terminate(): Promise<void> {
    this.calls.push('terminate');
  }

  async remove(): Promise<void> {
    this.calls.push('remove');
  }

  pause(paused: boolean): Promise<void> {
    this.calls.push(paused ? 'pause true' : 'pause false');
    return act(this.o.pause ?? { ok: undefined }, null);
  }

  async paused(): Promise<boolean> {
    this.calls.push('paused');
    return this.o.frozen ?? false;
  }

  async running(): Promise<number | null> {
    this.calls.push('running');
    return null;
  }
}
