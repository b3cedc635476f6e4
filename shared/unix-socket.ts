/**
 * Listening on a unix socket only root can use, without taking over one that is in use: a socket
 * file something still answers on (a running dockerd's /var/run/docker.sock, another tsswarm
 * process) is left alone and the listen fails; a stale one is replaced.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ConflictError } from './errors';

/** Whether a process accepts connections on the socket at `file`. */
export function socketInUse(file: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(file);
    const done = (v: boolean) => {
      c.destroy();
      resolve(v);
    };
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    c.setTimeout(timeoutMs, () => done(false));
  });
}

export async function listenUnixIfFree(server: net.Server, file: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  if (await socketInUse(file)) throw new ConflictError(`${file} is in use by another process (a running dockerd?); stop it or choose another path`);
  await fs.promises.rm(file, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fs.promises.chmod(file, 0o600);
}
