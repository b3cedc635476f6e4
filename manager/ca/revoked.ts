/**
 * The removed nodes, kept current by a watch: every listener (dispatcher,
 * registry) refuses their certificates, which otherwise stay valid until
 * they expire. Node ids are never reused (the CA picks them), so the id is
 * the certificate's identity.
 */
import { Keys } from '../../shared/keys';
import type { Store } from '../store/store';
import type { Logger } from '../../shared/log';

export class RevokedNodes {
  private ids = new Set<string>();
  private stopWatch: (() => Promise<void>) | null = null;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  has(nodeId: string): boolean {
    return this.ids.has(nodeId);
  }

  async start(): Promise<void> {
    this.stopWatch = await this.store.watch([Keys.revoked], () => void this.reload(), (e) => this.log.warn(`revocation watch: ${e.message}`));
    await this.reload();
  }

  private async reload(): Promise<void> {
    try {
      const keys = await this.store.list<unknown>(Keys.revoked);
      this.ids = new Set(keys.map((k) => k.key.slice(Keys.revoked.length)));
    } catch (e) {
      this.log.warn(`reading revoked nodes: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    await this.stopWatch?.();
  }
}
