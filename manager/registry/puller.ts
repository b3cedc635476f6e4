/**
 * `tsswarm image pull`: an image from the registry its name points at
 * (`busybox` → Docker Hub or the cluster's mirrors, `host:5000/app` → that
 * host), into this manager's store, then announced so the other managers copy
 * it from here: one download from upstream per layer for the whole cluster.
 * The platforms taken from an index are the ones the cluster's nodes run.
 */
import { Keys } from '../../shared/keys';
import { canonicalImageRef, formatImageRef, registryOf } from '../../shared/image-ref';
import { hostArchitecture, type Platform } from '../../shared/oci';
import type { RegistryCredential } from '../../shared/registry/auth';
import type { Cluster, ClusterNode } from '../../shared/types';
import type { Store } from '../store/store';
import type { StoreView } from '../store/view';
import { pullImage, type PullProgress, type PullResult } from './pull';
import { pushImage, type PushResult } from './push';
import type { ImageReplicator } from './replicate';
import type { ImageStore } from './store';
import { firstAnswering, Upstreams, type RegistrySettings } from './upstream';

export class ImagePuller {
  private settings: RegistrySettings = { mirrors: [], insecure: [] };
  readonly upstreams: Upstreams;

  constructor(
    private readonly store: Store,
    private readonly view: StoreView,
    private readonly images: ImageStore,
    private readonly replicator: ImageReplicator,
    certsDir: string,
  ) {
    this.upstreams = new Upstreams(() => this.settings, certsDir);
  }

  async pull(ref: string, credential: RegistryCredential | null, progress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<PullResult> {
    const target = canonicalImageRef(ref);
    const { registry, path } = registryOf(target.name);
    await this.refreshSettings();
    const result = await pullImage(this.images, this.upstreams.clients(registry, credential), path, target.digest ?? target.tag ?? 'latest', target, {
      platforms: this.platforms(),
      ...(signal ? { signal } : {}),
      ...(progress ? { progress } : {}),
    });
    await this.replicator.announce(result.ref, result.digest, true);
    progress?.({ status: `Status: ${result.downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${formatImageRef(target)}` });
    return result;
  }

  /** Pushes an image of the store to the registry its name points at (its first endpoint that answers). */
  async push(ref: string, credential: RegistryCredential | null, progress: (p: PullProgress) => void, signal: AbortSignal): Promise<PushResult> {
    const target = canonicalImageRef(ref);
    const { registry, path } = registryOf(target.name);
    await this.refreshSettings();
    const { client } = await firstAnswering(this.upstreams.clients(registry, credential), signal, (c) => c.ping(signal));
    return pushImage(this.images, client, path, formatImageRef(target), progress, signal);
  }

  /** Checks credentials against a registry (its first endpoint that answers); throws RegistryAuthError when refused. */
  async login(registry: string, credential: RegistryCredential): Promise<void> {
    await this.refreshSettings();
    const signal = AbortSignal.timeout(30_000);
    await firstAnswering(this.upstreams.clients(registry, credential), signal, (c) => c.ping(signal));
  }

  close(): void {
    this.upstreams.close();
  }

  platforms(): Platform[] {
    return clusterPlatforms(this.view);
  }

  private async refreshSettings(): Promise<void> {
    const c = await this.store.get<Cluster>(Keys.cluster);
    this.settings = { mirrors: c?.value.registries?.mirrors ?? [], insecure: c?.value.registries?.insecure ?? [] };
  }
}

/** This host's platform first, then every other one a node of the cluster runs. */
export function clusterPlatforms(view: StoreView): Platform[] {
  const out: Platform[] = [{ os: 'linux', architecture: hostArchitecture() }];
  for (const n of view.list<ClusterNode>(Keys.nodes)) {
    const p = n.value.platform;
    if (p && !out.some((o) => o.os === p.os && o.architecture === p.architecture)) out.push({ os: p.os, architecture: p.architecture });
  }
  return out;
}
