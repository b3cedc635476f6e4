/**
 * How a service's image becomes a digest (manager/registry/resolve.ts), with fakes for the store,
 * the replicator and the puller: which case asks the registry, which keeps what the cluster has.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageNotFoundError } from '../../../shared/errors';
import { canonicalImageRef } from '../../../shared/image-ref';
import { ImagePullError } from '../../../shared/registry/errors';
import { ImageResolver, type ResolveMode } from '../../../manager/registry/resolve';
import type { ImagePuller } from '../../../manager/registry/puller';
import type { ImageReplicator } from '../../../manager/registry/replicate';
import type { ImageStore } from '../../../manager/registry/store';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

function setup(local: Record<string, { digest: string; source: 'import' | 'pull' }>, upstream: (ref: string) => string | Error) {
  const pulls: string[] = [];
  const store = {
    resolve: async (ref: string) => {
      // As the store: a tag by its entry, a digest under any tag of the name.
      const p = canonicalImageRef(ref);
      if (p.digest === null) return local[`${p.name}:${p.tag}`] ?? null;
      return Object.entries(local).find(([r, e]) => canonicalImageRef(r).name === p.name && e.digest === p.digest)?.[1] ?? null;
    },
  } as unknown as ImageStore;
  const replicator = { ensure: async () => false } as unknown as ImageReplicator;
  const puller = {
    pull: async (ref: string) => {
      pulls.push(ref);
      const r = upstream(ref);
      if (r instanceof Error) throw r;
      return { ref, digest: r };
    },
  } as unknown as ImagePuller;
  const resolver = new ImageResolver(store, replicator, puller);
  const resolve = (ref: string, mode: ResolveMode = 'always', previous: string | null = null) => resolver.resolve(ref, { mode, credential: () => null, previous });
  return { resolve, pulls };
}

describe('ImageResolver', () => {
  it('an imported tag is the cluster\'s own: its digest, no registry asked', async () => {
    const { resolve, pulls } = setup({ 'busybox:latest': { digest: A, source: 'import' } }, () => new Error('must not be asked'));
    assert.deepEqual(await resolve('busybox'), { image: `busybox:latest@${A}`, warning: null });
    assert.deepEqual(await resolve('docker.io/library/busybox:latest'), { image: `busybox:latest@${A}`, warning: null });
    assert.deepEqual(pulls, []);
  });

  it('a pulled tag is asked of its registry each time (always), and follows it when it moved', async () => {
    const { resolve, pulls } = setup({ 'reg.example/app:1': { digest: A, source: 'pull' } }, () => B);
    assert.deepEqual(await resolve('reg.example/app:1'), { image: `reg.example/app:1@${B}`, warning: null });
    assert.deepEqual(pulls, ['reg.example/app:1']);
  });

  it('a registry that is away: the copy pulled earlier, with a warning; none: the pull\'s error', async () => {
    const away = () => new ImagePullError('cannot fetch manifest app:1: registry reg.example unreachable (ECONNREFUSED)', { temporary: true });
    const { resolve } = setup({ 'reg.example/app:1': { digest: A, source: 'pull' } }, away);
    const r = await resolve('reg.example/app:1');
    assert.equal(r.image, `reg.example/app:1@${A}`);
    assert.match(r.warning ?? '', /could not be checked with its registry .*unreachable.*using the cluster's copy/);
    await assert.rejects(setup({}, away).resolve('reg.example/app:1'), /unreachable \(ECONNREFUSED\)/);
  });

  it('an image its registry does not have: not found, with what to do', async () => {
    const { resolve } = setup({}, () => new ImageNotFoundError('image app:2 not found in the registry at reg.example'));
    await assert.rejects(resolve('reg.example/app:2'), (e: unknown) => e instanceof ImageNotFoundError && /not found in the registry at reg.example \(or import it with: tsswarm image import FILE reg.example\/app:2\)/.test(e.message));
  });

  it('never: only what the cluster has', async () => {
    const { resolve, pulls } = setup({ 'reg.example/app:1': { digest: A, source: 'pull' } }, () => B);
    assert.equal((await resolve('reg.example/app:1', 'never')).image, `reg.example/app:1@${A}`);
    await assert.rejects(resolve('reg.example/app:2', 'never'), /not in the cluster and resolving it was turned off \(pull it with: tsswarm image pull reg.example\/app:2\)/);
    assert.deepEqual(pulls, []);
  });

  it('changed: the same tag keeps the digest the service ran; another tag is asked', async () => {
    const { resolve, pulls } = setup({ 'reg.example/app:1': { digest: A, source: 'pull' } }, () => B);
    assert.equal((await resolve('reg.example/app:1', 'changed', `reg.example/app:1@${A}`)).image, `reg.example/app:1@${A}`);
    assert.deepEqual(pulls, []);
    assert.equal((await resolve('reg.example/app:2', 'changed', `reg.example/app:1@${A}`)).image, `reg.example/app:2@${B}`);
    assert.deepEqual(pulls, ['reg.example/app:2']);
  });

  it('a digest stays as given; it is pulled when the cluster lacks it', async () => {
    const { resolve, pulls } = setup({ 'reg.example/app:1': { digest: A, source: 'pull' } }, () => B);
    assert.equal((await resolve(`reg.example/app:1@${A}`)).image, `reg.example/app:1@${A}`);
    assert.deepEqual(pulls, []);
    assert.equal((await resolve(`reg.example/app@${B}`)).image, `reg.example/app@${B}`);
    assert.deepEqual(pulls, [`reg.example/app@${B}`]);
  });
});
