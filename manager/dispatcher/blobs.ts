/**
 * Which secrets and configs a node gets: those its live tasks use, opened from the store's sealed
 * records, nothing else. A task whose blobs are not readable yet (the view has not seen them, the
 * manager is locked) is held back, so an agent never starts a task without its secrets.
 */
import { isTerminal } from '../../shared/task-state';
import type { StoredBlob, Task } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { open } from '../keys/seal';
import type { NodeBlob } from '../../shared/proto/codec';


/** Blob ids a task needs while it may run. */
export function blobIdsOf(t: Task): string[] {
  if (isTerminal(t.status.state)) return [];
  const c = t.spec.container;
  return [...c.secrets.map((r) => r.secretId), ...c.configs.map((r) => r.configId)];
}

/**
 * Opens blobs once each (they are immutable: an id's bytes never change) and keeps them in memory
 * only, for as long as some record with that id exists.
 */
export class BlobCache {
  private readonly opened = new Map<string, NodeBlob>();

  constructor(private readonly dek: () => Buffer | null) {}

  /** The stored secrets and configs by id, opened; those that cannot be opened now are left out. */
  available(secrets: StoredBlob[], configs: StoredBlob[]): Map<string, NodeBlob> {
    const out = new Map<string, NodeBlob>();
    const key = this.dek();
    for (const [kind, list] of [['secret', secrets], ['config', configs]] as const) {
      for (const b of list) {
        let nb = this.opened.get(b.id);
        if (!nb && key) {
          try {
            nb = { id: b.id, kind, name: b.spec.name, data: open(key, kind === 'secret' ? Keys.secret(b.spec.name) : Keys.config(b.spec.name), b.sealed) };
            this.opened.set(b.id, nb);
          } catch {
            continue;
          }
        }
        if (nb) out.set(b.id, nb);
      }
    }
    const stored = new Set([...secrets, ...configs].map((b) => b.id));
    for (const id of [...this.opened.keys()]) if (!stored.has(id)) this.opened.delete(id);
    return out;
  }
}
