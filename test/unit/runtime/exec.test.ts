/**
 * agent/runtime/exec.ts without root: runc's flags for the options, and how the outcome of a fake
 * tsswarm-runtime (a shell script) is sorted into a result or an ExecError. The real runtime is in
 * test/integration/exec.test.ts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecError, execArgs, execInContainer, parseExecFailure } from '../../../agent/runtime/exec';

const tmp = mkdtempSync(join(tmpdir(), 'exec-unit-'));
const fake = join(tmp, 'fake-runtime');
// What tsswarm-runtime exec does, reduced to the outcomes: the command after `--` picks one.
writeFileSync(
  fake,
  `#!/bin/sh
pidfile=
while [ $# -gt 0 ]; do
  case "$1" in
    --pid-file) pidfile=$2; shift 2 ;;
    --) shift; break ;;
    *) shift ;;
  esac
done
case "$1" in
  missing) echo 'tsswarm-runtime: exec: ENOENT ("missing": executable file not found in $PATH)' >&2; exit 255 ;;
  paused) echo 'tsswarm-runtime: cannot exec in container "c1": container is paused' >&2; exit 255 ;;
  own) echo out; echo 'own complaint' >&2; exit 255 ;;
  seven) printf 'a\\nb\\n'; exit 7 ;;
  big) head -c 100000 /dev/zero | tr '\\0' x; exit 0 ;;
  sleep) sleep 30 & echo $! > "$pidfile"; echo $! > "${tmp}/sleep.pid"; wait $!; exit $? ;;
esac
exit 99
`,
);
chmodSync(fake, 0o755);

after(() => rmSync(tmp, { recursive: true, force: true }));

const run = (args: string[], over: { signal?: AbortSignal; maxOutputBytes?: number } = {}) =>
  execInContainer({ root: '/r', id: 'c1', args, runtime: fake, ...over });

describe('execArgs', () => {
  it('maps the options onto runc\'s flags, the command after --', () => {
    assert.deepEqual(execArgs({ root: '/c/.state', id: 'c1', args: ['ls', '-l'] }, null), ['--root', '/c/.state', 'exec', 'c1', '--', 'ls', '-l']);
    assert.deepEqual(
      execArgs({ root: '/r', id: 'c1', args: ['sh', '-c', 'x'], env: ['A=1', 'B=2'], user: '65534:65534', cwd: '/tmp', tty: true }, '/p/pid'),
      ['--root', '/r', 'exec', '--tty', '--env', 'A=1', '--env', 'B=2', '--user', '65534:65534', '--cwd', '/tmp', '--pid-file', '/p/pid', 'c1', '--', 'sh', '-c', 'x'],
    );
    assert.deepEqual(execArgs({ root: '/r', id: 'c1', args: ['true'], user: null, cwd: null, tty: false }, null), ['--root', '/r', 'exec', 'c1', '--', 'true']);
  });
});

describe('parseExecFailure', () => {
  it('reads the runtime\'s line: step, errno and message', () => {
    assert.deepEqual(parseExecFailure(255, 'tsswarm-runtime: exec: ENOENT ("x": executable file not found in $PATH)\n'), {
      message: 'exec: ENOENT ("x": executable file not found in $PATH)',
      step: 'exec',
      errno: 'ENOENT',
    });
    assert.deepEqual(parseExecFailure(255, 'tsswarm-runtime: setns net: EPERM (Operation not permitted)\n'), {
      message: 'setns net: EPERM (Operation not permitted)',
      step: 'setns net',
      errno: 'EPERM',
    });
    assert.deepEqual(parseExecFailure(255, 'tsswarm-runtime: container "c" does not exist\n'), { message: 'container "c" does not exist', step: null, errno: null });
  });
  it('leaves the process\'s own failures alone', () => {
    assert.equal(parseExecFailure(1, 'tsswarm-runtime: exec: ENOENT (x)\n'), null);
    assert.equal(parseExecFailure(255, 'oops\n'), null);
    assert.equal(parseExecFailure(0, ''), null);
  });
});

describe('execInContainer (fake runtime)', () => {
  it('resolves with the process\'s status and output, whatever the status', async () => {
    assert.deepEqual(await run(['seven']), { exitCode: 7, stdout: 'a\nb\n', stderr: '' });
    assert.deepEqual(await run(['own']), { exitCode: 255, stdout: 'out\n', stderr: 'own complaint\n' });
  });

  it('rejects with an ExecError when the runtime could not start the process', async () => {
    await assert.rejects(run(['missing']), (e: unknown) => {
      assert.ok(e instanceof ExecError);
      assert.equal(e.code, 'EXEC');
      assert.equal(e.containerId, 'c1');
      assert.equal(e.step, 'exec');
      assert.equal(e.errno, 'ENOENT');
      assert.equal(e.message, 'exec in c1: exec: ENOENT ("missing": executable file not found in $PATH)');
      return true;
    });
    await assert.rejects(run(['paused']), { name: 'ExecError', message: 'exec in c1: cannot exec in container "c1": container is paused' });
    await assert.rejects(execInContainer({ root: '/r', id: 'c1', args: ['x'], runtime: join(tmp, 'absent') }), { name: 'ExecError' });
    await assert.rejects(run([]), { name: 'ExecError' });
  });

  it('keeps at most maxOutputBytes of a stream', async () => {
    const r = await run(['big'], { maxOutputBytes: 1000 });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, 'x'.repeat(1000));
  });

  it('kills the process (by the pid the runtime wrote) on abort and rejects with the reason', async () => {
    const ac = new AbortController();
    const p = run(['sleep'], { signal: ac.signal });
    const pidOf = (): number | null => {
      try {
        return Number(readFileSync(join(tmp, 'sleep.pid'), 'utf8'));
      } catch {
        return null;
      }
    };
    for (let i = 0; i < 100 && pidOf() === null; i++) await new Promise((r) => setTimeout(r, 20));
    const pid = pidOf();
    assert.ok(pid !== null && pid > 0);
    ac.abort();
    await assert.rejects(p, { name: 'AbortError' });
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the process is gone');
    await assert.rejects(run(['seven'], { signal: ac.signal }), { name: 'AbortError' }, 'an aborted signal starts nothing');
  });
});
