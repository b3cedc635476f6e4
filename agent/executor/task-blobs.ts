/**
 * The bytes of the secrets and configs a node's tasks use. The agent's session fills it from the
 * dispatcher's assignments (only a node running a task that uses one is sent it); the executor only
 * reads. Implementations keep the bytes in memory: never on disk, never in a log or an error.
 */
export interface TaskBlobs {
  /** Secret `id`'s bytes, or null when this node was not given it. */
  secret(id: string): Buffer | null;
  /** Config `id`'s bytes, or null when this node was not given it. */
  config(id: string): Buffer | null;
}
