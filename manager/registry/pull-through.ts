/**
 * The cluster registry as a pull-through cache: a node asking for an image the store lacks (a
 * service's image pruned or lost here, the image of a platform not taken at deploy, a manager
 * that joined after the deploy) is not turned away. The image is copied from another manager when
 * one has it (manager/registry/replicate.ts), or pulled again from its registry, once for every
 * node that asks meanwhile. Only the image of a service is fetched so (a node cannot make the
 * managers fetch anything else), and upstream with that service's credential (`--with-registry-
 * auth`, manager/registry/service-auth.ts) only when the asking node runs one of its tasks.
 */
import { canonicalImageRef, formatImageRef, registryOf } from '../../shared/image-ref';
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import type { RegistryCredential } from '../../shared/registry/auth';
import { Singleflight } from '../../shared/singleflight';
import type { Service, Task } from '../../shared/types';
import type { Store } from '../store/store';
import type { StoreView } from '../store/view';
import type { ImagePuller } from './puller';
import type { ImageReplicator } from './replicate';
import type { ImageStore } from './store';
import { openRegistryAuth, type ServiceRegistryAuth } from './service-auth';

export class PullThrough {
  private readonly fetches = new Singleflight<boolean | string>();

  constructor(
    private readonly view: StoreView,
    private readonly store: Store,
    private readonly images: ImageStore,
    private readonly replicator: ImageReplicator,
    private readonly puller: ImagePuller,
    /** The cluster's data key (throws while this manager has none). */
    private readonly dek: () => Buffer,
    private readonly log: Logger,
  ) {}

  /**
   * Makes the store hold `name` at `reference` (a tag or digest), when a service runs it; `nodeId`
   * is the asking node's (null: an operator's certificate). True when the store has it now, false
   * when it is no service's image, and why not when fetching it failed.
   */
  async fetch(name: string, reference: string, nodeId: string | null): Promise<boolean | string> {
    const services = await this.servicesRunning(name, reference);
    if (services.length === 0) return false;
    const pinned = canonicalImageRef(services[0]!.spec.task.container.image);
    const wanted = `${name}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
    const has = async () => (await this.images.resolve(wanted)) !== null;
    return this.fetches.run(`${wanted} ${nodeId ?? ''}`, AbortSignal.timeout(10 * 60_000), async (): Promise<boolean | string> => {
      // Another manager's copy first: no upstream request for what the cluster has.
      if (pinned.tag !== null && (await this.replicator.ensure(formatImageRef({ ...pinned, digest: null })).catch(() => false)) && (await has())) return true;
      const image = formatImageRef({ ...pinned, tag: null });
      const credential = await this.credentialFor(services, nodeId);
      try {
        await this.puller.pull(image, credential);
        this.log.info(`pulled ${image} again for ${nodeId ? `node ${nodeId.slice(0, 12)}` : 'a client'}`);
        return has();
      } catch (e) {
        this.log.warn(`pulling ${image} for ${nodeId ? `node ${nodeId.slice(0, 12)}` : 'a client'}: ${(e as Error).message}`);
        return (e as Error).message;
      }
    });
  }

  /**
   * The services whose pinned image is `name` at `reference`: its digest, its tag, or one
   * platform's manifest of the index it is pinned to (a node of a platform not pulled yet).
   */
  private async servicesRunning(name: string, reference: string): Promise<Service[]> {
    const out: Service[] = [];
    for (const { value: s } of this.view.list<Service>(Keys.services)) {
      let r;
      try {
        r = canonicalImageRef(s.spec.task.container.image);
      } catch {
        continue;
      }
      if (r.name !== name) continue;
      if (r.digest === reference || r.tag === reference) out.push(s);
      else if (r.digest !== null && (await this.images.resolve(`${name}@${r.digest}`))?.index?.manifests.some((m) => m.digest === reference)) out.push(s);
    }
    return out;
  }

  /** The stored credential of a service the node runs a task of, for the image's registry. */
  private async credentialFor(services: Service[], nodeId: string | null): Promise<RegistryCredential | null> {
    if (nodeId === null) return null;
    const mine = new Set(this.view.list<Task>(Keys.tasks).filter((t) => t.value.nodeId === nodeId).map((t) => t.value.serviceId));
    for (const s of services.filter((x) => mine.has(x.id))) {
      const stored = await this.store.get<ServiceRegistryAuth>(Keys.serviceRegistryAuth(s.id));
      if (!stored) continue;
      try {
        const c = openRegistryAuth(s.id, stored.value, registryOf(canonicalImageRef(s.spec.task.container.image).name).registry, this.dek());
        if (c) return c;
      } catch (e) {
        this.log.warn(`the registry credential of service ${s.spec.name}: ${(e as Error).message}`);
      }
    }
    return null;
  }
}
