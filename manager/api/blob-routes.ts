/**
 * `/v1/secrets` and `/v1/configs`: create, list, inspect, remove (Docker's `secret` / `config`
 * commands). A secret's bytes never leave the store through the API; a config's are shown by
 * inspect, as Docker does.
 */
import type { BlobCreateRequest, BlobView } from '../../shared/api-types';
import { InvalidArgumentError } from '../../shared/errors';
import { Keys } from '../../shared/keys';
import type { Service, StoredBlob } from '../../shared/types';
import type { BlobKind } from '../blobs/blobs';
import { blobKey, blobPrefix, blobView, findBlob } from '../blobs/blobs';
import { createBlob, removeBlob } from './blob-ops';
import { open } from '../keys/seal';
import { readJson } from './http-util';
import type { Route } from './server';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function routesFor(kind: BlobKind, plural: string): Route[] {
  const one = new RegExp(`^/v1/${plural}/([^/]+)$`);
  const all = new RegExp(`^/v1/${plural}$`);
  return [
    {
      method: 'POST',
      pattern: all,
      handler: async (ctx, req): Promise<BlobView> => {
        const body = (await readJson(req)) as BlobCreateRequest | null;
        if (!body || typeof body.name !== 'string' || typeof body.data !== 'string' || !BASE64.test(body.data)) {
          throw new InvalidArgumentError(`expected {"name": NAME, "labels": {...}, "data": BASE64}`);
        }
        const blob = await createBlob(ctx, kind, { name: body.name, labels: body.labels ?? {} }, Buffer.from(body.data, 'base64'));
        return blobView(kind, blob, [], null);
      },
    },
    {
      method: 'GET',
      pattern: all,
      handler: async (ctx): Promise<BlobView[]> => {
        const [blobs, services] = await Promise.all([ctx.store.list<StoredBlob>(blobPrefix(kind)), ctx.store.list<Service>(Keys.services)]);
        const svcs = services.map((s) => s.value);
        return blobs.map((b) => blobView(kind, b.value, svcs, null)).sort((a, b) => a.name.localeCompare(b.name));
      },
    },
    {
      method: 'GET',
      pattern: one,
      handler: async (ctx, _req, [ref]): Promise<BlobView> => {
        const [blobs, services] = await Promise.all([ctx.store.list<StoredBlob>(blobPrefix(kind)), ctx.store.list<Service>(Keys.services)]);
        const b = findBlob(kind, blobs, ref!);
        const data = kind === 'config' ? open(ctx.keys.get(), blobKey(kind, b.value.spec.name), b.value.sealed) : null;
        return blobView(kind, b.value, services.map((s) => s.value), data);
      },
    },
    {
      method: 'DELETE',
      pattern: one,
      handler: async (ctx, _req, [ref]) => ({ removed: (await removeBlob(ctx, kind, ref!)).spec.name }),
    },
  ];
}

export const blobRoutes: Route[] = [...routesFor('secret', 'secrets'), ...routesFor('config', 'configs')];
