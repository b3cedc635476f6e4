/**
 * `POST /v1/images/pull?ref=REF`: pulls an image from its registry into the
 * cluster (credentials, if any, in `X-Registry-Auth`). The answer is JSON lines
 * of progress (`PullProgress`, per layer as `docker pull` shows it), ending in
 * `{"result": ImageSummary}` or `{"error": {"code", "message"}}`; a bad request
 * is refused before the stream starts.
 *
 * `GET /v1/images/inspect?ref=`, `POST /v1/images/tag` ({source, target}) and
 * `DELETE /v1/images?ref=[&force=1]` (refused while a service runs the image,
 * unless forced; every manager removes its copy), `POST /v1/images/prune[?all=1]` (the cluster
 * registry's unused images, manager/registry/prune.ts, and on every ready node the images none of
 * its tasks uses).
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { ImageInspect } from '../../shared/api-types';
import { ConflictError, ImageNotFoundError, InvalidArgumentError, isTsswarmError } from '../../shared/errors';
import { canonicalImageRef, formatImageRef } from '../../shared/image-ref';
import { Keys } from '../../shared/keys';
import { platformName } from '../../shared/oci';
import { decodeRegistryAuth, REGISTRY_AUTH_HEADER } from '../../shared/registry/auth-header';
import type { ClusterNode, Service } from '../../shared/types';
import type { ImagePruneResult } from '../../shared/api-types';
import { pruneStore } from '../registry/prune';
import { askNode } from './volume-routes';
import { readJson } from './http-util';
import type { ApiContext, Route, StreamRoute } from './server';
import { jsonLines } from './stream-routes';

/** A pull or push as JSON lines of progress ending in {result} or {error}; the request is checked before the stream starts. */
function progressRoute(op: 'pull' | 'push'): StreamRoute {
  return {
    method: 'POST',
    pattern: op === 'pull' ? /^\/v1\/images\/pull$/ : /^\/v1\/images\/push$/,
    stream: async (ctx, req, res, _p, q) => {
      const ref = q.get('ref');
      if (!ref) throw new InvalidArgumentError('missing image reference (ref)');
      const target = formatImageRef(canonicalImageRef(ref));
      const credential = decodeRegistryAuth(req.headers[REGISTRY_AUTH_HEADER]);
      if (op === 'push' && !(await ctx.images.resolve(target))) throw new ImageNotFoundError(`image ${target} not found in the cluster`);
      const gone = new AbortController();
      res.on('close', () => gone.abort(new DOMException('the client went away', 'AbortError')));
      const send = jsonLines(res);
      try {
        const result = op === 'pull' ? await ctx.puller.pull(target, credential, send, gone.signal) : await ctx.puller.push(target, credential, send, gone.signal);
        send({ result });
      } catch (e) {
        if (!isTsswarmError(e)) ctx.log.error(`${op} ${target}: ${(e as Error)?.stack ?? String(e)}`);
        send({ error: { code: isTsswarmError(e) ? e.code : 'INTERNAL', message: (e as Error).message } });
      }
      res.end();
    },
  };
}

/** `GET /v1/images/save?ref=A&ref=B` (`image save`): a tar of the images, OCI layout and docker save in one. */
const saveRoute: StreamRoute = {
  method: 'GET',
  pattern: /^\/v1\/images\/save$/,
  stream: async (ctx, req, res, _p, q) => {
    const refs = q.getAll('ref');
    if (refs.length === 0) throw new InvalidArgumentError('missing image reference (ref)');
    const dir = await ctx.images.scratchDir();
    try {
      await ctx.images.saveTo(refs, dir);
      res.writeHead(200, { 'content-type': 'application/x-tar' });
      const tar = spawn('tar', ['--create', '--file', '-', '--directory', dir, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', 'oci-layout', 'index.json', 'manifest.json', 'blobs'], { stdio: ['ignore', 'pipe', 'ignore'] });
      req.on('close', () => tar.kill());
      await pipeline(tar.stdout, res).catch(() => res.destroy());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export const imageStreamRoutes: StreamRoute[] = [progressRoute('pull'), progressRoute('push'), saveRoute];

/** The services pinned to `digest` (what a reference names: an image, or an index). */
async function usersOf(ctx: ApiContext, digest: string): Promise<string[]> {
  const services = await ctx.store.list<Service>(Keys.services);
  return services
    .filter((s) => s.value.spec.task.container.image.endsWith(`@${digest}`))
    .map((s) => s.value.spec.name)
    .sort();
}

export const imageRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/v1\/images\/inspect$/,
    handler: async (ctx, _req, _p, q): Promise<ImageInspect> => {
      const ref = q.get('ref');
      if (!ref) throw new InvalidArgumentError('missing image reference (ref)');
      const found = await ctx.images.resolve(ref);
      if (!found) throw new ImageNotFoundError(`image ${ref} not found`);
      const config = await ctx.images.config(found);
      return {
        ref: found.ref,
        digest: found.digest,
        mediaType: found.mediaType,
        source: found.source,
        // As `image ls` counts it: the config and the (compressed) layers.
        size: found.manifest.layers.reduce((n, l) => n + l.size, found.manifest.config.size),
        created: config.created ?? null,
        architecture: config.architecture,
        os: config.os,
        platforms: found.index ? found.index.manifests.map((m) => ({ digest: m.digest, platform: m.platform ? platformName(m.platform) : null })) : null,
        config: config.config ?? {},
        layers: found.manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
        history: config.history ?? [],
        usedBy: await usersOf(ctx, found.digest),
      };
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/images\/tag$/,
    handler: async (ctx, req) => {
      const b = (await readJson(req)) as { source?: unknown; target?: unknown } | null;
      if (!b || typeof b.source !== 'string' || typeof b.target !== 'string') throw new InvalidArgumentError('expected {"source": REF, "target": NAME[:TAG]}');
      const summary = await ctx.images.tag(b.source, b.target);
      await ctx.replicator.announce(summary.ref, summary.digest);
      return summary;
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/v1\/images$/,
    handler: async (ctx, _req, _p, q) => {
      const ref = q.get('ref');
      if (!ref) throw new InvalidArgumentError('missing image reference (ref)');
      const found = await ctx.images.resolve(ref);
      const refs = await ctx.images.refsOf(ref);
      if (!found || refs.length === 0) throw new ImageNotFoundError(`image ${ref} not found`);
      // A tag the image keeps under another name is not the image: only its last ref is guarded.
      const others = (await ctx.images.list()).filter((i) => i.digest === found.digest && !refs.includes(i.ref));
      if (others.length === 0 && q.get('force') !== '1') {
        const users = await usersOf(ctx, found.digest);
        if (users.length > 0) throw new ConflictError(`image ${found.ref} is used by service${users.length > 1 ? 's' : ''} ${users.join(', ')} (remove ${users.length > 1 ? 'them' : 'it'} first, or --force)`);
      }
      for (const r of refs) await ctx.images.remove(r);
      await ctx.replicator.forget(refs);
      return { untagged: refs, deleted: others.length === 0 ? found.digest : null };
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/images\/prune$/,
    handler: async (ctx, _req, _p, q): Promise<ImagePruneResult> => {
      const all = q.get('all') === '1' || q.get('all') === 'true';
      const removed = await pruneStore(ctx.store, ctx.images, all);
      // Tagged refs have records: their removal reaches the others so. The others prune their own stores too.
      await ctx.replicator.forget(removed);
      await ctx.replicator.requestPrune(all);
      const out: ImagePruneResult = { removed: removed.map((ref) => ({ node: null, ref })), errors: [] };
      const nodes = ctx.view.list<ClusterNode>(Keys.nodes).map((n) => n.value).filter((n) => n.status.state === 'ready');
      const answers = await Promise.allSettled(nodes.map((n) => askNode(ctx.store, n, { op: 'image-prune', name: '', driver: '', options: {}, labels: {}, force: false, all })));
      answers.forEach((a, i) => {
        const node = nodes[i]!.hostname;
        if (a.status === 'fulfilled') for (const ref of a.value.removed) out.removed.push({ node, ref });
        else out.errors.push((a.reason as Error).message);
      });
      return out;
    },
  },
];
