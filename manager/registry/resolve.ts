/**
 * What image a service runs, decided once when it is created, updated or
 * deployed (Swarm's behaviour): a tag becomes `name:tag@sha256:…`, so every
 * replica on every node runs the same image even if the tag moves later, and a
 * tag that moved is a change of the spec (a rolling update).
 *
 * - A digest stays; the image is pulled into the cluster if it is not here.
 * - A tag the cluster imported or built is the cluster's own: its digest here.
 * - Any other tag is asked of its registry (one manifest request when nothing
 *   changed; a pull when it did). When the registry cannot be reached and the
 *   cluster has the tag from an earlier pull, that digest is used with a warning.
 * - `never` (`--no-resolve-image`, `deploy --resolve-image never`): only what
 *   the cluster has; `changed`: the registry is asked only for a tag other than
 *   the one the service ran.
 */
import { ImageNotFoundError, isTsswarmError } from '../../shared/errors';
import { canonicalImageRef, formatImageRef, registryOf } from '../../shared/image-ref';
import type { RegistryCredential } from '../../shared/registry/auth';
import { ImagePullError } from '../../shared/registry/errors';
import type { ImagePuller } from './puller';
import type { ImageReplicator } from './replicate';
import type { ImageStore, ResolvedImage } from './store';

export type ResolveMode = 'always' | 'changed' | 'never';

export interface ResolvedServiceImage {
  /** `name:tag@digest`, or `name@digest` for a reference without a tag. */
  image: string;
  warning: string | null;
}

export interface ResolveOptions {
  mode: ResolveMode;
  credential: (registry: string) => RegistryCredential | null;
  /** The image the service ran before (an update), for `changed` and for keeping a digest. */
  previous?: string | null;
}

export class ImageResolver {
  constructor(
    private readonly images: ImageStore,
    private readonly replicator: ImageReplicator,
    private readonly puller: ImagePuller,
  ) {}

  async resolve(ref: string, options: ResolveOptions): Promise<ResolvedServiceImage> {
    const c = canonicalImageRef(ref);
    const credential = options.credential(registryOf(c.name).registry);
    if (c.digest !== null) {
      if (!(await this.local(formatImageRef(c)))) await this.pullOrExplain(formatImageRef({ ...c, tag: null }), credential, ref);
      return { image: formatImageRef(c), warning: null };
    }
    const tagged = formatImageRef(c);
    const pinned = (digest: string) => ({ image: `${tagged}@${digest}`, warning: null });
    if (options.mode === 'changed' && options.previous) {
      const p = canonicalImageRef(options.previous);
      if (p.digest !== null && p.name === c.name && p.tag === c.tag && (await this.local(`${c.name}@${p.digest}`))) return pinned(p.digest);
    }
    const here = await this.local(tagged);
    if (here && here.source === 'import') return pinned(here.digest);
    if (options.mode === 'never') {
      if (here) return pinned(here.digest);
      throw new ImageNotFoundError(`image ${tagged} is not in the cluster and resolving it was turned off (pull it with: tsswarm image pull ${tagged})`);
    }
    try {
      return pinned((await this.puller.pull(tagged, credential)).digest);
    } catch (e) {
      // The registry is away: what the cluster pulled before still runs the same on every node.
      if (here && e instanceof ImagePullError && e.temporary) {
        return { ...pinned(here.digest), warning: `image ${tagged} could not be checked with its registry (${e.message}); using the cluster's copy, pulled earlier` };
      }
      throw explain(e, ref);
    }
  }

  /** The image when this manager has it, or can copy it from another manager now. */
  private async local(ref: string): Promise<ResolvedImage | null> {
    const found = await this.images.resolve(ref);
    if (found) return found;
    if (await this.replicator.ensure(ref)) return this.images.resolve(ref);
    return null;
  }

  private async pullOrExplain(ref: string, credential: RegistryCredential | null, asked: string): Promise<void> {
    try {
      await this.puller.pull(ref, credential);
    } catch (e) {
      throw explain(e, asked);
    }
  }
}

/** A pull that failed, as the reason the service's image is not available. */
function explain(e: unknown, ref: string): Error {
  const name = formatImageRef(canonicalImageRef(ref));
  if (e instanceof ImageNotFoundError) return new ImageNotFoundError(`image ${name} not found: ${e.message} (or import it with: tsswarm image import FILE ${name})`);
  if (e instanceof ImagePullError) return new ImagePullError(`image ${name} is not in the cluster and could not be pulled: ${e.message}`, { temporary: e.temporary, cause: e });
  if (isTsswarmError(e)) return e;
  return e as Error;
}
