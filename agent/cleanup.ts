/**
 * `tsswarm down`'s clean-up: removes every container this agent's data root
 * holds (processes, mounts, cgroups, state) and then the cgroup parent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Runtime } from './runtime/types';

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

export async function cleanup(runtime: Runtime, cgroupParent: string): Promise<number> {
  const ids = await runtime.list();
  let failed = 0;
  await Promise.all(
    ids.map((id) =>
      runtime.remove(id).catch((e: Error) => {
        failed++;
        process.stderr.write(`error: removing container ${id}: ${e.message}\n`);
      }),
    ),
  );
  removeCgroupParent(cgroupParent);
  return failed;
}
