import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogMerge, type MergedLine } from '../../../../manager/logs/merge';

const time = (i: number) => `2026-12-03T08:00:00.${String(i).padStart(9, '0')}Z`;

/** A merge whose output is kept as `task@i:text` (i: the line's time index, stream `!` for stderr). */
function merge() {
  const out: MergedLine[] = [];
  const m = new LogMerge((l) => out.push(l));
  const line = (task: string, i: number, text: string, o: { stream?: 'stdout' | 'stderr'; partial?: boolean } = {}) =>
    m.line(task, time(i), o.stream ?? 'stdout', Buffer.from(text), o.partial ?? false);
  const shown = () => out.map((l) => `${l.task}@${Number(l.time.slice(20, 29))}${l.stream === 'stderr' ? '!' : ''}:${l.text.toString()}`);
  const take = () => {
    m.pump();
    const s = shown();
    out.length = 0;
    return s;
  };
  return { m, line, take, out };
}

describe('LogMerge', () => {
  it('lets a line out only when every task still reading its backlog has one queued', () => {
    const { m, line, take } = merge();
    m.add('a');
    m.add('b');
    line('a', 1, 'a1');
    line('a', 3, 'a3');
    assert.deepEqual(take(), [], 'b may still have a line before a1');
    line('b', 2, 'b2');
    assert.deepEqual(take(), ['a@1:a1', 'b@2:b2'], 'then b is empty again: a3 waits');
    line('b', 4, 'b4');
    assert.deepEqual(take(), ['a@3:a3']);
    line('a', 5, 'a5');
    assert.deepEqual(take(), ['b@4:b4']);
  });

  it('orders lines of many tasks by time, whatever order their batches come in', () => {
    const { m, line, take } = merge();
    for (const t of ['a', 'b', 'c']) m.add(t);
    line('c', 3, 'c3');
    line('c', 6, 'c6');
    line('c', 9, 'c9');
    line('a', 1, 'a1');
    line('a', 4, 'a4');
    assert.deepEqual(take(), []);
    line('b', 2, 'b2');
    line('b', 5, 'b5');
    line('b', 8, 'b8');
    assert.deepEqual(take(), ['a@1:a1', 'b@2:b2', 'c@3:c3', 'a@4:a4']);
    for (const t of ['a', 'b', 'c']) m.end(t);
    assert.deepEqual(take(), ['b@5:b5', 'c@6:c6', 'b@8:b8', 'c@9:c9']);
    assert.equal(m.done, true);
  });

  it('a caught-up task with nothing queued holds no one back', () => {
    const { m, line, take } = merge();
    m.add('a');
    m.add('b');
    m.caughtUp('a');
    line('b', 5, 'b5');
    line('b', 6, 'b6');
    assert.deepEqual(take(), ['b@5:b5', 'b@6:b6']);
    // What a caught-up task writes from now on goes out as it comes, against the heads of the others.
    line('a', 7, 'a7');
    assert.deepEqual(take(), [], 'b (not caught up) is empty: it may have a line before a7');
    line('b', 8, 'b8');
    // a7 is the earlier head; then b8 goes too: a, caught up and empty, waits for no one.
    assert.deepEqual(take(), ['a@7:a7', 'b@8:b8']);
  });

  it('when every task has caught up, lines go out as they come', () => {
    const { m, line, take } = merge();
    m.add('a');
    m.add('b');
    m.caughtUp('a');
    m.caughtUp('b');
    line('a', 9, 'a9');
    assert.deepEqual(take(), ['a@9:a9']);
    line('b', 3, 'b3');
    assert.deepEqual(take(), ['b@3:b3']);
  });

  it('a caught-up task’s queued lines still go in time order with the others’', () => {
    const { m, line, take } = merge();
    m.add('a');
    m.add('b');
    line('a', 1, 'a1');
    line('a', 4, 'a4');
    m.caughtUp('a');
    line('b', 2, 'b2');
    m.caughtUp('b');
    assert.deepEqual(take(), ['a@1:a1', 'b@2:b2', 'a@4:a4']);
  });

  it('an ended task releases the others', () => {
    const { m, line, take } = merge();
    m.add('a');
    m.add('b');
    line('b', 2, 'b2');
    assert.deepEqual(take(), []);
    m.end('a');
    assert.deepEqual(take(), ['b@2:b2']);
  });

  it('an ended task’s queued lines still go, in order', () => {
    const { m, line, take } = merge();
    m.add('a');
    m.add('b');
    line('a', 1, 'a1');
    line('a', 3, 'a3');
    m.end('a');
    line('b', 2, 'b2');
    assert.deepEqual(take(), ['a@1:a1', 'b@2:b2'], 'b is empty again: it may still have a line before a3');
    line('b', 4, 'b4');
    // a3 is the earlier head; then a, ended and empty, holds b4 back no more.
    assert.deepEqual(take(), ['a@3:a3', 'b@4:b4']);
    assert.equal(m.done, false, 'b has not ended');
    m.end('b');
    assert.deepEqual(take(), []);
    assert.equal(m.done, true);
  });

  it('a task not yet added holds nothing back; lines for it are dropped', () => {
    const { m, line, take } = merge();
    m.add('a');
    line('x', 1, 'x1');
    line('a', 2, 'a2');
    assert.deepEqual(take(), ['a@2:a2'], 'x holds nothing back, and its line is not kept');
    m.add('x');
    line('a', 3, 'a3');
    assert.deepEqual(take(), [], 'once added, x holds a3 back');
    line('x', 4, 'x4');
    assert.deepEqual(take(), ['a@3:a3']);
  });

  it('lines of an ended task are ignored', () => {
    const { m, line, take } = merge();
    m.add('a');
    m.add('b');
    m.end('a');
    line('a', 1, 'late');
    line('b', 2, 'b2');
    m.end('b');
    assert.deepEqual(take(), ['b@2:b2']);
  });

  it('add is idempotent and has() tells which tasks are known', () => {
    const { m, line, take } = merge();
    assert.equal(m.has('a'), false);
    m.add('a');
    line('a', 1, 'a1');
    m.add('a');
    assert.equal(m.has('a'), true);
    m.end('a');
    assert.deepEqual(take(), ['a@1:a1'], 'adding again did not drop the queued line');
  });

  describe('partial lines', () => {
    it('joins pieces with the next full line of the stream, at the first piece’s time', () => {
      const { m, line, take } = merge();
      m.add('a');
      m.caughtUp('a');
      line('a', 1, 'ab', { partial: true });
      line('a', 2, 'cd', { partial: true });
      assert.deepEqual(take(), []);
      line('a', 3, 'ef');
      assert.deepEqual(take(), ['a@1:abcdef']);
      line('a', 4, 'next');
      assert.deepEqual(take(), ['a@4:next'], 'the pieces went with the joined line');
    });

    it('keeps the pieces of stdout and stderr apart', () => {
      const { m, line, take } = merge();
      m.add('a');
      m.caughtUp('a');
      line('a', 1, 'out-', { partial: true });
      line('a', 2, 'err-', { stream: 'stderr', partial: true });
      line('a', 3, 'whole err', { stream: 'stderr' });
      line('a', 4, 'end');
      line('a', 5, 'rest', { stream: 'stderr' });
      // A joined line takes its place in the task's queue when it completes (here after the stderr
      // line), while it keeps the time of its first piece.
      assert.deepEqual(take(), ['a@2!:err-whole err', 'a@1:out-end', 'a@5!:rest']);
    });

    it('does not join pieces of different tasks', () => {
      const { m, line, take } = merge();
      m.add('a');
      m.add('b');
      m.caughtUp('a');
      m.caughtUp('b');
      line('a', 1, 'a-', { partial: true });
      line('b', 2, 'b-whole');
      line('a', 3, 'end');
      assert.deepEqual(take(), ['a@1:a-end', 'b@2:b-whole']);
    });

    it('a task with only pieces has no line queued: it still holds the others back', () => {
      const { m, line, take } = merge();
      m.add('a');
      m.add('b');
      line('a', 1, 'piece', { partial: true });
      line('b', 2, 'b2');
      assert.deepEqual(take(), []);
      line('a', 3, 'end');
      assert.deepEqual(take(), ['a@1:pieceend'], 'a is empty again: b2 waits');
      m.end('a');
      assert.deepEqual(take(), ['b@2:b2']);
    });

    it('end() lets a dangling partial line go as it is', () => {
      const { m, line, take } = merge();
      m.add('a');
      line('a', 1, 'whole');
      line('a', 2, 'dang', { partial: true });
      line('a', 3, 'ling', { partial: true });
      line('a', 4, 'err piece', { stream: 'stderr', partial: true });
      m.end('a');
      assert.deepEqual(take(), ['a@1:whole', 'a@2:dangling', 'a@4!:err piece']);
      assert.equal(m.done, true);
    });

    it('end() twice flushes the pieces once', () => {
      const { m, line, take } = merge();
      m.add('a');
      line('a', 1, 'piece', { partial: true });
      m.end('a');
      m.end('a');
      assert.deepEqual(take(), ['a@1:piece']);
    });
  });

  describe('done', () => {
    it('is true only once every task has ended and every line is let out', () => {
      const { m, line, take } = merge();
      m.add('a');
      m.add('b');
      line('a', 1, 'a1');
      assert.equal(m.done, false);
      m.end('a');
      assert.equal(m.done, false);
      assert.deepEqual(take(), [], 'b may still have a line before a1');
      assert.equal(m.done, false, 'b has not ended');
      line('b', 2, 'b2');
      m.end('b');
      assert.equal(m.done, false, 'a1 and b2 are not let out yet');
      assert.deepEqual(take(), ['a@1:a1', 'b@2:b2']);
      assert.equal(m.done, true);
    });

    it('a caught-up task is not done', () => {
      const { m, take } = merge();
      m.add('a');
      m.caughtUp('a');
      take();
      assert.equal(m.done, false);
    });

    it('is true with no tasks at all', () => {
      const { m } = merge();
      assert.equal(m.done, true);
    });
  });

  it('merges long backlogs (past its queue compaction) in order, losing nothing', () => {
    const { m, line, take } = merge();
    m.add('a');
    m.add('b');
    const n = 3000;
    const want: string[] = [];
    for (let i = 0; i < 2 * n; i++) {
      const task = i % 2 === 0 ? 'a' : 'b';
      line(task, i, `${task}${i}`);
      want.push(`${task}@${i}:${task}${i}`);
    }
    m.end('a');
    m.end('b');
    assert.deepEqual(take(), want);
    assert.equal(m.done, true);
  });

  it('merges long backlogs that arrive in batches, one task far ahead', () => {
    const { m, line, take } = merge();
    m.add('a');
    m.add('b');
    const got: string[] = [];
    // a sends 2000 lines at even times at once; b sends its odd ones in batches of 100.
    for (let i = 0; i < 4000; i += 2) line('a', i, `a${i}`);
    got.push(...take());
    for (let start = 1; start < 4000; start += 200) {
      for (let i = start; i < start + 200 && i < 4000; i += 2) line('b', i, `b${i}`);
      got.push(...take());
    }
    m.end('b');
    m.end('a');
    got.push(...take());
    assert.equal(got.length, 4000);
    assert.deepEqual(
      got.map((s) => Number(s.slice(2).split(':')[0])),
      Array.from({ length: 4000 }, (_, i) => i),
    );
  });
});
