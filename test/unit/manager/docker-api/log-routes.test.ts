import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  detailContext,
  dockerLogOptions,
  DockerLogWriter,
  formBool,
  frame,
  logContentType,
  logPayload,
  MULTIPLEXED_STREAM,
  queryEscape,
  RAW_STREAM,
  StreamType,
} from '../../../../manager/docker-api/log-routes';
import { InvalidArgumentError } from '../../../../shared/errors';

const isInvalid = (msg: RegExp) => (e: unknown) => e instanceof InvalidArgumentError && msg.test(e.message);

/** The frames of a multiplexed stream, as a Docker client reads them (stdcopy). */
function frames(b: Buffer): Array<{ stream: number; text: string }> {
  const out: Array<{ stream: number; text: string }> = [];
  let at = 0;
  while (at < b.length) {
    assert.ok(b.length - at >= 8, 'a whole header');
    assert.deepEqual([...b.subarray(at + 1, at + 4)], [0, 0, 0]);
    const len = b.readUInt32BE(at + 4);
    out.push({ stream: b[at]!, text: b.toString('utf8', at + 8, at + 8 + len) });
    at += 8 + len;
  }
  assert.equal(at, b.length);
  return out;
}

describe('Docker log framing', () => {
  it('a frame is the stream type, three zero bytes, the big-endian length, then the payload', () => {
    const f = frame(StreamType.stderr, Buffer.from('hello\n'));
    assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 6]);
    assert.equal(f.subarray(8).toString(), 'hello\n');
    const big = frame(StreamType.stdout, Buffer.alloc(0x012345));
    assert.deepEqual([...big.subarray(0, 8)], [1, 0, 0, 0, 0, 0x01, 0x23, 0x45]);
  });

  it('the Content-Type: raw up to API 1.41, multiplexed from 1.42 unless the service has a TTY', () => {
    assert.equal(logContentType('1.41', false), RAW_STREAM);
    assert.equal(logContentType('1.24', false), RAW_STREAM);
    assert.equal(logContentType('1.42', false), MULTIPLEXED_STREAM);
    assert.equal(logContentType('1.50', false), MULTIPLEXED_STREAM);
    assert.equal(logContentType('2.0', false), MULTIPLEXED_STREAM);
    assert.equal(logContentType('1.50', true), RAW_STREAM);
  });
});

describe('the details of a swarm log message', () => {
  it('names node, service and task with the keys the docker CLI parses, sorted by key', () => {
    assert.equal(detailContext({ nodeId: 'n1', serviceId: 's1', taskId: 't1' }), 'com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1');
  });

  it("escapes as Go's url.QueryEscape", () => {
    assert.equal(queryEscape('a b=c,d'), 'a+b%3Dc%2Cd');
    assert.equal(queryEscape("x!'()*~-_."), 'x%21%27%28%29%2A~-_.');
  });

  it('a payload: the time, the details, the line and its newline, each part when asked', () => {
    const c = { nodeId: 'n', serviceId: 's', taskId: 't' };
    const time = '2026-01-02T03:04:05.123456789Z';
    assert.equal(logPayload({ timestamps: false, details: false }, time, c, 'hi').toString(), 'hi\n');
    assert.equal(logPayload({ timestamps: true, details: false }, time, c, 'hi\n').toString(), `${time} hi\n`);
    assert.equal(logPayload({ timestamps: true, details: true }, time, c, 'hi').toString(), `${time} com.docker.swarm.node.id=n,com.docker.swarm.service.id=s,com.docker.swarm.task.id=t hi\n`);
    // An empty line keeps the space the CLI splits the details off at.
    assert.equal(logPayload({ timestamps: false, details: true }, time, c, '').toString(), 'com.docker.swarm.node.id=n,com.docker.swarm.service.id=s,com.docker.swarm.task.id=t \n');
  });
});

describe('dockerLogOptions', () => {
  const q = (s: string) => new URLSearchParams(s);

  it('reads what the docker CLI sends for service logs', () => {
    const o = dockerLogOptions(q('details=1&stderr=1&stdout=1&tail=1'));
    assert.deepEqual(o, { stdout: true, stderr: true, timestamps: false, details: true, query: { follow: false, tail: 1, since: '', until: '' } });
    const f = dockerLogOptions(q('stdout=1&follow=1&timestamps=true&tail=all&since=1700000000.5'));
    assert.equal(f.query.follow, true);
    assert.equal(f.timestamps, true);
    assert.equal(f.query.tail, -1);
    assert.equal(f.query.since, '2023-11-14T22:13:20.500000000Z');
  });

  it("reads booleans as Go's form values do", () => {
    for (const t of ['1', 'true', 'True', 'yes', 'on']) assert.equal(formBool(t), true, t);
    for (const f of [null, '', '0', 'false', 'no', 'none', ' FALSE ']) assert.equal(formBool(f), false, String(f));
  });

  it("refuses what dockerd refuses, in dockerd's words", () => {
    assert.throws(() => dockerLogOptions(q('')), isInvalid(/^Bad parameters: you must choose at least one stream$/));
    assert.throws(() => dockerLogOptions(q('stdout=0&stderr=false')), isInvalid(/you must choose at least one stream/));
    assert.throws(() => dockerLogOptions(q('stdout=1&tail=x')), isInvalid(/^tail value must be a positive integer or "all"$/));
    assert.throws(() => dockerLogOptions(q('stdout=1&tail=-1')), isInvalid(/^negative tail values not supported$/));
    assert.throws(() => dockerLogOptions(q('stdout=1&since=yesterday')), isInvalid(/since/));
  });

  it('tail 0 and an empty tail', () => {
    assert.equal(dockerLogOptions(q('stdout=1&tail=0')).query.tail, 0);
    assert.equal(dockerLogOptions(q('stdout=1&tail=')).query.tail, -1);
  });
});

describe('DockerLogWriter', () => {
  const time = '2026-01-02T03:04:05.000000001Z';
  const collect = (o: { stdout: boolean; stderr: boolean; timestamps: boolean; details: boolean }, multiplexed: boolean) => {
    const chunks: Buffer[] = [];
    const w = new DockerLogWriter(o, 'svc', multiplexed, (b) => chunks.push(b));
    return { w, all: () => Buffer.concat(chunks) };
  };
  const all = { stdout: true, stderr: true, timestamps: false, details: true };

  it("multiplexes each line on its stream, with its task's node in the details", () => {
    const { w, all: out } = collect(all, true);
    w.event({ kind: 'task', id: 'task1', name: 'web.1', node: 'host1', nodeId: 'node1' });
    w.event({ kind: 'task', id: 'task2', name: 'web.2', node: 'host2', nodeId: 'node2' });
    w.event({ kind: 'line', task: 'task1', time, stream: 'stdout', text: 'out-1' });
    w.event({ kind: 'line', task: 'task2', time, stream: 'stderr', text: 'err-1' });
    assert.deepEqual(frames(out()), [
      { stream: 1, text: 'com.docker.swarm.node.id=node1,com.docker.swarm.service.id=svc,com.docker.swarm.task.id=task1 out-1\n' },
      { stream: 2, text: 'com.docker.swarm.node.id=node2,com.docker.swarm.service.id=svc,com.docker.swarm.task.id=task2 err-1\n' },
    ]);
  });

  it('keeps only the streams asked', () => {
    const { w, all: out } = collect({ ...all, stderr: false, details: false }, true);
    w.event({ kind: 'task', id: 't', name: 'web.1', node: 'h', nodeId: 'n' });
    w.event({ kind: 'line', task: 't', time, stream: 'stderr', text: 'e' });
    w.event({ kind: 'line', task: 't', time, stream: 'stdout', text: 'o' });
    w.event({ kind: 'notice', time, text: 'h is down', task: 't', node: 'h' });
    assert.deepEqual(frames(out()), [{ stream: 1, text: 'o\n' }]);
  });

  it('writes a TTY service raw: payloads without headers', () => {
    const { w, all: out } = collect({ ...all, details: false, timestamps: true }, false);
    w.event({ kind: 'task', id: 't', name: 'web.1', node: 'h', nodeId: 'n' });
    w.event({ kind: 'line', task: 't', time, stream: 'stdout', text: 'a' });
    w.event({ kind: 'line', task: 't', time, stream: 'stdout', text: 'b\n' });
    assert.equal(out().toString(), `${time} a\n${time} b\n`);
  });

  it("a notice of a task is that task's stderr message; one naming no known task is a system error", () => {
    const { w, all: out } = collect(all, true);
    w.event({ kind: 'task', id: 't', name: 'web.1', node: 'h', nodeId: 'n' });
    w.event({ kind: 'notice', time, text: 'h is down: its logs end here', task: 't', node: 'h' });
    w.event({ kind: 'notice', time, text: 'something broke' });
    assert.deepEqual(frames(out()), [
      { stream: 2, text: 'com.docker.swarm.node.id=n,com.docker.swarm.service.id=svc,com.docker.swarm.task.id=t h is down: its logs end here\n' },
      { stream: 3, text: 'Error grabbing logs: something broke\n' },
    ]);
  });
});
