/**
 * A would-be leader for the fencing test, as a process of its own so the test
 * can freeze it (SIGSTOP) past its lease: a real LeaderElection on a real
 * etcd, and while it leads, a loop that keeps rewriting a few objects through
 * the term's fenced writer, each write stamped with this manager's id and its
 * term. On request it also holds a pending pass (read now, commit later) the
 * way a reconcile loop caught by a pause does.
 *
 * Commands are JSON lines on stdin, events JSON lines on stdout. When stdin
 * closes it resigns and exits, so it never outlives the test. Without its
 * options argument it does nothing: `node --test dist/test/...` loads every
 * file under test/.
 */
import { createInterface } from 'node:readline';
import { LeaderElection } from '../../../manager/election/leader';
import { Store, type FencedWriter, type Versioned, type WriteOp } from '../../../manager/store/store';
import { NotLeaderError } from '../../../shared/errors';
import { createLogger } from '../../../shared/log';

export interface WriterOptions {
  endpoint: string;
  managerId: string;
  /** The objects the loop rewrites. */
  objects: string[];
  ttlSeconds: number;
}

/** What every write of the loop and of a pending pass puts. */
export interface Stamp {
  writer: string;
  /** The create revision of the writer's election key: its term. */
  term: string;
  seq: number;
}

export type WriterCommand =
  | { cmd: 'prepare'; read: string[]; create: string }
  | { cmd: 'commit' };

export type WriterEvent =
  | { event: 'elected'; term: string }
  | { event: 'demoted' }
  | { event: 'refused'; term: string }
  | { event: 'prepared'; term: string; read: { key: string; modRevision: string | null }[] }
  | { event: 'pending'; term: string; outcome: 'applied' | 'conflict' | 'refused' | 'failed'; code: string | null; message: string | null }
  | { event: 'failed'; message: string };

function emit(e: WriterEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function serve(o: WriterOptions): void {
  const store = new Store([o.endpoint], {}, 1000);
  const log = createLogger(`writer ${o.managerId}`);
  let seq = 0;
  let current: FencedWriter | null = null;
  let pending: { writer: FencedWriter; ops: WriteOp[] } | null = null;
  const stamp = (w: FencedWriter): Stamp => ({ writer: o.managerId, term: w.fence.createRevision, seq: ++seq });

  /** Read, then write what was read, guarded, until the term ends (as the leader's loops do). */
  const loop = async (w: FencedWriter) => {
    while (current === w) {
      try {
        for (const key of o.objects) {
          const cur = await store.get<Stamp>(key);
          await w.commit([{ put: key, value: stamp(w), guard: cur ? { modRevision: cur.modRevision } : { absent: true } }]);
        }
      } catch (e) {
        if (e instanceof NotLeaderError) {
          emit({ event: 'refused', term: w.fence.createRevision });
          return;
        }
        log.warn(`write: ${(e as Error).message}`);
      }
      await sleep(10);
    }
  };

  const election = new LeaderElection(store, { managerId: o.managerId, nodeId: null }, {
    onElected: async (w) => {
      current = w;
      emit({ event: 'elected', term: w.fence.createRevision });
      void loop(w);
    },
    onDemoted: async () => {
      current = null;
      emit({ event: 'demoted' });
    },
  }, log.child('election'), o.ttlSeconds);

  const handle = async (c: WriterCommand) => {
    if (c.cmd === 'prepare') {
      const w = current;
      if (!w) throw new Error('prepare: not the leader');
      const read = await Promise.all(c.read.map((k) => store.get<Stamp>(k)));
      const ops: WriteOp[] = read.map((r, i): WriteOp => ({ put: c.read[i]!, value: stamp(w), guard: r ? { modRevision: r.modRevision } : { absent: true } }));
      ops.push({ put: c.create, value: stamp(w), guard: { absent: true } });
      pending = { writer: w, ops };
      emit({ event: 'prepared', term: w.fence.createRevision, read: read.map((r: Versioned<Stamp> | null, i) => ({ key: c.read[i]!, modRevision: r?.modRevision ?? null })) });
    } else {
      const p = pending;
      if (!p) throw new Error('commit: nothing prepared');
      pending = null;
      const term = p.writer.fence.createRevision;
      try {
        const ok = await p.writer.commit(p.ops);
        emit({ event: 'pending', term, outcome: ok ? 'applied' : 'conflict', code: null, message: null });
      } catch (e) {
        const refused = e instanceof NotLeaderError;
        emit({ event: 'pending', term, outcome: refused ? 'refused' : 'failed', code: refused ? e.code : null, message: (e as Error).message });
      }
    }
  };

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    handle(JSON.parse(line) as WriterCommand).catch((e: Error) => emit({ event: 'failed', message: e.message }));
  });
  rl.on('close', () => {
    current = null;
    void election.stop().catch(() => undefined).finally(() => {
      store.close();
      process.exit(0);
    });
  });
  election.start();
}

const optsArg = process.argv[2];
if (optsArg !== undefined && require.main === module) serve(JSON.parse(optsArg) as WriterOptions);
