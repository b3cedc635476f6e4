/**
 * `POST /v1/images/pull?ref=REF`: pulls an image from its registry into the
 * cluster (credentials, if any, in `X-Registry-Auth`). The answer is JSON lines
 * of progress (`PullProgress`, per layer as `docker pull` shows it), ending in
 * `{"result": ImageSummary}` or `{"error": {"code", "message"}}`; a bad request
 * is refused before the stream starts.
 */
import { InvalidArgumentError, isTsswarmError } from '../../shared/errors';
import { canonicalImageRef, formatImageRef } from '../../shared/image-ref';
import { decodeRegistryAuth, REGISTRY_AUTH_HEADER } from '../../shared/registry/auth-header';
import type { StreamRoute } from './server';
import { jsonLines } from './stream-routes';

export const imageStreamRoutes: StreamRoute[] = [
  {
    method: 'POST',
    pattern: /^\/v1\/images\/pull$/,
    stream: async (ctx, req, res, _p, q) => {
      const ref = q.get('ref');
      if (!ref) throw new InvalidArgumentError('missing image reference (ref)');
      const target = formatImageRef(canonicalImageRef(ref));
      const credential = decodeRegistryAuth(req.headers[REGISTRY_AUTH_HEADER]);
      const gone = new AbortController();
      res.on('close', () => gone.abort(new DOMException('the client went away', 'AbortError')));
      const send = jsonLines(res);
      try {
        const result = await ctx.puller.pull(target, credential, send, gone.signal);
        send({ result });
      } catch (e) {
        if (!isTsswarmError(e)) ctx.log.error(`pull ${target}: ${(e as Error)?.stack ?? String(e)}`);
        send({ error: { code: isTsswarmError(e) ? e.code : 'INTERNAL', message: (e as Error).message } });
      }
      res.end();
    },
  },
];
