/** Polling for the benchmarks that time how long the cluster takes to reach a state. */

/** Resolves when `f` answers true (errors count as not yet), checking every 20 ms; throws past `deadline`. */
export async function until(what: string, deadline: number, f: () => Promise<boolean>): Promise<void> {
  while (!(await f().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
