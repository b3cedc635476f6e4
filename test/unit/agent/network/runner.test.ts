import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchRunner, parseBatchFailures } from '../../../../agent/network/runner';
import { NetworkCommandError } from '../../../../agent/network/errors';
import { FakeNetSys } from './fake-sys';

describe('BatchRunner', () => {
  it('parses which lines failed', () => {
    const m = parseBatchFailures('Cannot find device "x"\nCommand failed -:2\nRTNETLINK answers: File exists\nCommand failed -:4\n');
    assert.deepEqual([...m], [[2, 'Cannot find device "x"'], [4, 'RTNETLINK answers: File exists']]);
  });
  it('merges calls made together into one process and blames each caller for its own lines', async () => {
    const sys = new FakeNetSys();
    sys.batchStderr.set('ip', 'RTNETLINK answers: File exists\nCommand failed -:3\nCannot find device "gone"\nCommand failed -:4\n');
    const r = new BatchRunner(sys, ['ip', '-force', '-batch', '-']);
    const a = r.run(['link set a up', 'link set b up']);
    const b = r.run(['link add c type bridge']);
    const c = r.run(['link del gone'], /Cannot find device/);
    await a;
    await assert.rejects(b, (e: unknown) => e instanceof NetworkCommandError && e.failed.length === 1 && e.failed[0]?.command === 'link add c type bridge');
    await c;
    assert.equal(r.spawns, 1);
    assert.deepEqual(sys.batches('ip'), [['link set a up', 'link set b up', 'link add c type bridge', 'link del gone']]);
  });
  it('queues calls made while a batch runs into the next one', async () => {
    const sys = new FakeNetSys();
    const r = new BatchRunner(sys, ['ip', '-force', '-batch', '-']);
    const first = r.run(['link set a up']);
    await new Promise((res) => setImmediate(res));
    const second = Promise.all([r.run(['link set b up']), r.run(['link set c up'])]);
    await Promise.all([first, second]);
    assert.deepEqual(sys.batches('ip'), [['link set a up'], ['link set b up', 'link set c up']]);
  });
  it('fails everyone when the tool fails without naming a line', async () => {
    const sys = new FakeNetSys();
    sys.answers.set('ip -force -batch -', { code: 255, stdout: '', stderr: 'Option "-x" is unknown' });
    const r = new BatchRunner(sys, ['ip', '-force', '-batch', '-']);
    await assert.rejects(r.run(['link set a up']), NetworkCommandError);
    await r.run([]);
    assert.throws(() => void r.run(['a\nb']), /newline/);
  });
});
