/** What a test left behind, found by the temporary directory it used. */
import * as fs from 'node:fs';

/** PIDs whose command line names `marker` (etcd, manager, agent, supervisor, shims). */
export function processesMentioning(marker: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) out.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Lines of this process's mount table that name `marker`. */
export function mountsMentioning(marker: string): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(marker));
}
