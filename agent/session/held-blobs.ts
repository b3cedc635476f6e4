/**
 * The secrets and configs this node's tasks use, as the manager sent them: in memory only (never
 * on the agent's disk), dropped when the manager says no task here needs them any more. The
 * executor's controllers read them when they lay out a task's files.
 */
import type { NodeBlob } from '../../shared/proto/codec';

export class HeldBlobs {
  private readonly byId = new Map<string, NodeBlob>();

  /** Applies one assignments message: `full` replaces the whole set. */
  apply(blobs: NodeBlob[], removed: string[], full: boolean): void {
    if (full) this.byId.clear();
    for (const id of removed) this.byId.delete(id);
    for (const b of blobs) this.byId.set(b.id, b);
  }

  secret(id: string): Buffer | null {
    const b = this.byId.get(id);
    return b && b.kind === 'secret' ? b.data : null;
  }

  config(id: string): Buffer | null {
    const b = this.byId.get(id);
    return b && b.kind === 'config' ? b.data : null;
  }
}
