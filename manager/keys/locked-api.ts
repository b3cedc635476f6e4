/**
 * A manager of an autolocked cluster that restarted holds its data key only
 * wrapped by the operator's unlock key: until `tsswarm unlock` it serves
 * nothing (no dispatcher, registry, election or API) but this: on its unix
 * socket, POST /v1/unlock with the key; every other request is told the
 * manager is locked. A wrong key is refused and the manager stays locked.
 */
import * as http from 'node:http';
import { InvalidArgumentError } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import { listenUnix } from '../api/server';
import { readJson, sendError, sendJson } from '../api/http-util';
import { LockedError, type DataKey } from './data-key';

export async function waitForUnlock(socket: string, keys: DataKey, log: Logger): Promise<void> {
  let unlocked: () => void = () => undefined;
  const done = new Promise<void>((r) => (unlocked = r));
  const server = http.createServer((req, res) => {
    void (async () => {
      try {
        if (req.method === 'POST' && req.url === '/v1/unlock') {
          const body = (await readJson(req)) as { key?: unknown } | null;
          if (typeof body?.key !== 'string') throw new InvalidArgumentError('expected {"key": "SWMKEY-1-..."}');
          keys.unlock(body.key);
          log.info('unlocked by the operator');
          sendJson(res, 200, { unlocked: true });
          unlocked();
          return;
        }
        throw new LockedError('this manager is locked: run tsswarm unlock and give it the unlock key');
      } catch (e) {
        sendError(res, e);
      }
    })();
  });
  await listenUnix(server, socket);
  log.warn('this manager is locked (autolock): it serves nothing until tsswarm unlock');
  await done;
  await new Promise<void>((r) => server.close(() => r()));
  server.closeAllConnections();
}
