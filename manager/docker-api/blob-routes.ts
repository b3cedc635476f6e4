/** `/secrets` and `/configs`: Docker's shapes over tsswarm's sealed blobs; a secret's bytes never leave. */
import { InvalidArgumentError } from '../../shared/errors';
import type { StoredBlob } from '../../shared/types';
import { createBlob, removeBlob } from '../api/blob-ops';
import { readJson } from '../api/http-util';
import type { ApiContext } from '../api/server';
import type { BlobKind } from '../blobs/blobs';
import { blobKey, blobPrefix, findBlob } from '../blobs/blobs';
import { open } from '../keys/seal';
import type { Versioned } from '../store/store';
import { blobMatches, checkFilters, parseFilters } from './filters';
import { blobFromDocker, dockerConfig, dockerSecret } from './objects';
import { Reply } from './reply';
import type { DockerRoute } from './server';

function view(ctx: ApiContext, kind: BlobKind, b: Versioned<StoredBlob>) {
  return kind === 'secret' ? dockerSecret(b) : dockerConfig(b, open(ctx.keys.get(), blobKey(kind, b.value.spec.name), b.value.sealed));
}

function routesFor(kind: BlobKind, plural: string): DockerRoute[] {
  const all = new RegExp(`^/${plural}$`);
  const one = new RegExp(`^/${plural}/([^/]+)$`);
  return [
    {
      method: 'GET',
      pattern: all,
      handler: async (ctx, _req, _p, q) => {
        const f = parseFilters(q.get('filters'));
        checkFilters(kind, f);
        return (await ctx.store.list<StoredBlob>(blobPrefix(kind))).map((b) => view(ctx, kind, b)).filter((b) => blobMatches(b, f));
      },
    },
    {
      method: 'GET',
      pattern: one,
      handler: async (ctx, _req, [ref]) => view(ctx, kind, findBlob(kind, await ctx.store.list<StoredBlob>(blobPrefix(kind)), ref!)),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/${plural}/create$`),
      handler: async (ctx, req) => {
        const { spec, data } = blobFromDocker(kind, await readJson(req));
        return new Reply(201, { ID: (await createBlob(ctx, kind, spec, data)).id });
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/${plural}/([^/]+)/update$`),
      handler: async () => {
        throw new InvalidArgumentError(`a ${kind} cannot be changed in tsswarm: create one under a new name and point the services at it`);
      },
    },
    {
      method: 'DELETE',
      pattern: one,
      handler: async (ctx, _req, [ref]) => {
        await removeBlob(ctx, kind, ref!);
        return new Reply(204, undefined);
      },
    },
  ];
}

export const dockerBlobRoutes: DockerRoute[] = [...routesFor('secret', 'secrets'), ...routesFor('config', 'configs')];
