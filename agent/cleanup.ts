/**
 * `tsswarm down`'s clean-up: removes every container this agent's data root
 * holds (processes, mounts, cgroups, state) and then the cgroup parent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Runtime } from './runtime/types';
import { releaseTaskMounts, tasksWithMounts, type TaskStorage } from './executor/task-mounts';

const CGROUP_ROOT = '/sys/fs/cgroup';

function removeCgroupParent(parent: string): void {
  const dirs = fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'))
    ? [path.join(CGROUP_ROOT, parent)]
    : fs.readdirSync(CGROUP_ROOT).map((c) => path.join(CGROUP_ROOT, c, parent));
  for (const d of dirs) {
    try {
      fs.rmdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') process.stderr.write(`warning: cgroup ${d} not removed: ${code}\n`);
    }
  }
}

export async function cleanup(runtime: Runtime, cgroupParent: string, storage: TaskStorage): Promise<number> {
  const ids = await runtime.list();
  let failed = 0;
  const fail = (what: string) => (e: Error) => {
    failed++;
    process.stderr.write(`error: removing ${what}: ${e.message}\n`);
  };
  await Promise.all(ids.map((id) => runtime.remove(id).catch(fail(`container ${id}`))));
  // The tasks' secret tmpfs and volume mounts, then every volume's own mount: deleting the data
  // root afterwards must not walk into a mounted filesystem (a bind volume points at host data).
  for (const t of await tasksWithMounts(storage).catch(() => [])) await releaseTaskMounts(t, storage).catch(fail(`the mounts of task ${t}`));
  await storage.volumes.unmountAll().catch(fail('volume mounts'));
  removeCgroupParent(cgroupParent);
  return failed;
}
