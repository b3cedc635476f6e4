/**
 * `tsswarm exec` on this node: a manager's ExecRequest run in the task's container (the runtime's
 * startExec: the container's namespaces, cgroup, user and confinement), its stdio carried by an
 * Exec call (agent/session/task-streams.ts). Frames from the manager are stdin, window sizes and
 * signals; frames back are output, then the exit code, or an error when the process could not start
 * (with Docker's exit codes for those: 127 for a command not found, 126 otherwise). The process is
 * killed when the call ends before it does (the client went away).
 */
import type { WireExecRequest } from '../../shared/proto/task-streams';
import type { ExecChannel } from '../session/task-streams';
import type { Runtime } from '../runtime/types';
import { ExecError } from '../runtime/exec';

const SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGKILL', 'SIGWINCH']);

export async function execStream(runtime: Runtime, req: WireExecRequest, ch: ExecChannel): Promise<void> {
  const info = await runtime.inspect(req.task_id);
  if (info === null || info.status !== 'running') throw new Error(`task ${req.task_id} has no running container on this node`);
  let session;
  try {
    session = runtime.startExec(req.task_id, {
      args: req.args,
      env: req.env,
      user: req.user === '' ? null : req.user,
      cwd: req.workdir === '' ? null : req.workdir,
      tty: req.tty,
      stdin: req.stdin,
      rows: req.rows,
      cols: req.cols,
    });
  } catch (e) {
    ch.send({ error: (e as Error).message, exited: true, exit_code: 126 });
    ch.end();
    return;
  }
  session.onOutput((stream, b) => ch.send(stream === 'stdout' ? { stdout: b } : { stderr: b }));
  ch.onFrame((f) => {
    if (f.stdin && f.stdin.length > 0 && req.stdin) session.write(f.stdin);
    if (f.stdin_end) session.endInput();
    if (f.rows > 0 && f.cols > 0) session.resize(f.rows, f.cols);
    if (f.signal !== '' && SIGNALS.has(f.signal)) session.signal(f.signal as NodeJS.Signals);
  });
  const gone = () => session.kill();
  ch.closed.addEventListener('abort', gone, { once: true });
  try {
    const code = await session.done;
    ch.send({ exited: true, exit_code: code });
  } catch (e) {
    const notFound = e instanceof ExecError && e.errno === 'ENOENT';
    ch.send({ error: (e as Error).message, exited: true, exit_code: notFound ? 127 : 126 });
  } finally {
    ch.closed.removeEventListener('abort', gone);
    ch.end();
  }
}
