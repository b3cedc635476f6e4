/**
 * A deposed leader cannot write. Two would-be leaders, each a process of its
 * own running a real LeaderElection (lease TTL 2 s) on a real etcd and, while
 * it leads, rewriting the same objects through its fenced writer. The leader
 * holds a pending pass (state read, commit not yet sent), is frozen with
 * SIGSTOP until its lease has expired and the other one leads and writes, then
 * is resumed and commits: etcd refuses the commit (NOT_LEADER), although its
 * guards still hold. Then etcd's own history of the run shows that every write
 * landed while its writer's term was the current one, so no object holds writes
 * of two leaders interleaved. Asserts outcomes, never timings.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { Etcd3 } from 'etcd3';
import { requireRoot } from './harness/root';
import { LocalEtcd } from './harness/etcd-local';
import { eventually } from './harness/cluster';
import { ELECTION, type LeaderValue } from '../../manager/election/leader';
import type { Stamp, WriterCommand, WriterEvent, WriterOptions } from './harness/fenced-writer';

const writerScript = path.join(__dirname, 'harness', 'fenced-writer.js');
const PREFIX = '/fencing/';
const objects = [0, 1, 2].map((i) => `${PREFIX}objects/${i}`);
const untouched = `${PREFIX}untouched`;
const createdByPending = `${PREFIX}created-by-the-pending-pass`;
const electionPrefix = `election/${ELECTION}/`;

/** One writer process; ended by its PID whatever happens. */
class WriterProcess {
  readonly events: WriterEvent[] = [];
  private readonly child: ChildProcess;

  constructor(readonly managerId: string, endpoint: string, logDir: string) {
    const opts: WriterOptions = { endpoint, managerId, objects, ttlSeconds: 2 };
    const log = fs.openSync(path.join(logDir, `${managerId}.log`), 'a');
    this.child = spawn(process.execPath, [writerScript, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', log] });
    fs.closeSync(log);
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.events.push(JSON.parse(l) as WriterEvent));
  }

  get pid(): number {
    return this.child.pid!;
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(c: WriterCommand): void {
    this.child.stdin!.write(`${JSON.stringify(c)}\n`);
  }

  event<K extends WriterEvent['event']>(kind: K, what: string = kind): Promise<Extract<WriterEvent, { event: K }>> {
    return eventually(`${this.managerId}: ${what}`, () => {
      const failed = this.events.find((e) => e.event === 'failed');
      if (failed) throw new Error(`${this.managerId}: ${JSON.stringify(failed)}`);
      return this.events.find((e): e is Extract<WriterEvent, { event: K }> => e.event === kind);
    }, 60000);
  }

  freeze(): void {
    process.kill(this.pid, 'SIGSTOP');
  }

  thaw(): void {
    process.kill(this.pid, 'SIGCONT');
  }

  /** Asks it to resign and exit (stdin closes); kills it by PID if it does not. */
  async close(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    process.kill(this.pid, 'SIGCONT');
    this.child.stdin!.end();
    const t = setTimeout(() => this.running && process.kill(this.pid, 'SIGKILL'), 10000);
    await exited;
    clearTimeout(t);
  }
}

interface Change { key: string; put: boolean; value: string; create: number; mod: number }

async function waitFor(what: string, f: () => Promise<boolean>, timeoutMs = 60000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await f().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every change under prefix since revision 1, in order, from etcd's watch history. */
async function history(client: Etcd3, prefix: string): Promise<Change[]> {
  // A sentinel written last marks the end of the history asked for.
  const sentinel = `${prefix}~end-of-history`;
  await client.put(sentinel).value('');
  const out: Change[] = [];
  const watcher = await client.watch().prefix(prefix).startRevision('1').create();
  try {
    await new Promise<void>((resolve, reject) => {
      const add = (put: boolean) => (kv: { key: Buffer; value: Buffer; create_revision: string; mod_revision: string }) => {
        const key = kv.key.toString();
        if (key === sentinel) return resolve();
        out.push({ key, put, value: kv.value.toString(), create: Number(kv.create_revision), mod: Number(kv.mod_revision) });
      };
      watcher.on('put', add(true));
      watcher.on('delete', add(false));
      watcher.on('error', reject);
    });
  } finally {
    await watcher.cancel();
  }
  return out;
}

/** Leadership over the run: each campaign key's life, from the election prefix's history. */
function terms(changes: Change[]): { key: string; create: number; until: number; managerId: string }[] {
  const byKey = new Map<string, { key: string; create: number; until: number; managerId: string }>();
  for (const c of changes) {
    const t = byKey.get(c.key);
    if (c.put && !t) byKey.set(c.key, { key: c.key, create: c.create, until: Infinity, managerId: (JSON.parse(c.value) as LeaderValue).managerId });
    if (!c.put && t) t.until = c.mod;
  }
  return [...byKey.values()];
}

/** The leader at a revision: the oldest campaign key that exists then. */
function leaderAt(ts: ReturnType<typeof terms>, rev: number) {
  return ts.filter((t) => t.create <= rev && rev < t.until).sort((a, b) => a.create - b.create)[0] ?? null;
}

describe('fencing: a deposed leader cannot write', () => {
  let etcd: LocalEtcd | null = null;
  let client: Etcd3 | null = null;
  const writers: WriterProcess[] = [];

  before(async () => {
    requireRoot();
    etcd = await LocalEtcd.start('tsswarm-fencing');
    client = new Etcd3({ hosts: [etcd.endpoint] });
  });

  after(async () => {
    for (const w of writers) await w.close().catch(() => undefined);
    client?.close();
    await etcd?.destroy();
  });

  it('refuses the pending writes of a leader frozen past its lease; every write in the store is its term\'s', async () => {
    const c = client!;
    const stamps = () => Promise.all(objects.map(async (key) => {
      const v = await c.get(key).string();
      return v === null ? null : (JSON.parse(v) as Stamp);
    }));
    // An object only the pending pass would write: its guard keeps holding throughout.
    await c.put(untouched).value(JSON.stringify({ writer: 'test', term: '0', seq: 0 } satisfies Stamp));

    const a = new WriterProcess('manager-a', etcd!.endpoint, etcd!.dir);
    writers.push(a);
    const aTerm = (await a.event('elected')).term;
    await waitFor('manager-a wrote every object', async () => (await stamps()).every((s) => s?.writer === 'manager-a'));
    const b = new WriterProcess('manager-b', etcd!.endpoint, etcd!.dir);
    writers.push(b);
    await waitFor('manager-b campaigns', async () => (await c.getAll().prefix(electionPrefix).keys()).length === 2);

    // A pass of manager-a's that has read the state and not yet committed. Its guards will still
    // hold when it commits (manager-b writes neither key), so only the fence can refuse it.
    a.send({ cmd: 'prepare', read: [untouched], create: createdByPending });
    const prepared = await a.event('prepared');
    assert.equal(prepared.term, aTerm);
    a.freeze();
    const bTerm = (await b.event('elected')).term;
    assert.ok(Number(bTerm) > Number(aTerm));
    await waitFor('manager-b wrote every object', async () => (await stamps()).every((s) => s?.writer === 'manager-b'));
    // The commit waits in manager-a's stdin until it runs again.
    a.send({ cmd: 'commit' });
    a.thaw();

    const pending = await a.event('pending', 'the pending pass\'s outcome');
    assert.deepEqual([pending.term, pending.outcome, pending.code], [aTerm, 'refused', 'NOT_LEADER'], pending.message ?? '');
    await a.event('demoted');
    assert.equal(await c.get(createdByPending).string(), null, 'the pending create was not applied');
    const untouchedNow = await c.get(untouched).exec();
    assert.equal(String(untouchedNow.kvs[0]?.mod_revision), prepared.read.find((r) => r.key === untouched)?.modRevision,
      'its guard still held: the fence alone refused the pass');
    assert.equal((JSON.parse((await c.election(ELECTION).leader())!) as LeaderValue).managerId, 'manager-b');
    // manager-b goes on writing after manager-a is back, so late writes of manager-a would interleave.
    const seen = await stamps();
    await waitFor('manager-b wrote every object again', async () => (await stamps()).every((s, i) => s?.writer === 'manager-b' && s.seq > seen[i]!.seq));

    // The old leader stops first, so the new one never loses its lead during the test.
    await a.close();
    await b.close();

    const leaders = terms(await history(c, electionPrefix));
    const changes = (await history(c, PREFIX)).filter((x) => x.key !== untouched || x.put);
    // manager-a's term, manager-b's, then manager-a's new campaign that never led.
    assert.deepEqual(leaders.map((t) => [t.managerId, String(t.create)]).slice(0, 2), [['manager-a', aTerm], ['manager-b', bTerm]]);
    const writes = changes.filter((x) => x.put && x.key !== untouched).map((x) => ({ ...x, stamp: JSON.parse(x.value) as Stamp }));
    assert.ok(writes.some((w) => w.stamp.term === aTerm) && writes.some((w) => w.stamp.term === bTerm), 'both leaders wrote');
    // Every write landed while its writer led, in the term it was stamped with.
    for (const w of writes) {
      const l = leaderAt(leaders, w.mod);
      assert.deepEqual([l?.managerId, l && String(l.create)], [w.stamp.writer, w.stamp.term], `${w.key} at revision ${w.mod}`);
    }
    // So per object the terms only move forward: after manager-b's first write, nothing of manager-a's.
    for (const key of objects) {
      const seq = writes.filter((w) => w.key === key);
      const firstB = seq.findIndex((w) => w.stamp.writer === 'manager-b');
      assert.ok(firstB > 0, `${key}: written by manager-a, then by manager-b`);
      assert.deepEqual(seq.slice(firstB).filter((w) => w.stamp.writer !== 'manager-b'), [], `${key}: a write of manager-a after manager-b's`);
      assert.ok(seq.every((w, i) => i === 0 || Number(w.stamp.term) >= Number(seq[i - 1]!.stamp.term)));
    }
    assert.deepEqual(changes.filter((x) => x.key === untouched).map((x) => x.value), [JSON.stringify({ writer: 'test', term: '0', seq: 0 })]);
    assert.equal(changes.some((x) => x.key === createdByPending), false);
  });
});
