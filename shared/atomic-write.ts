/** Writes that a crash cannot leave half done: write a sibling temp file, fsync, rename over. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, rename, rm } from 'node:fs/promises';

const tmpName = (file: string) => `${file}.${randomBytes(6).toString('hex')}.tmp`;

export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tmpName(file);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Several files, synchronously: every one is staged first (a sibling temp file, written and
 * fsynced), then they are renamed over in the order given, so a failure before the renames
 * changes none of them. Their directories are made (0700) when missing.
 */
export function writeFilesAtomicSync(files: readonly { file: string; data: string; mode: number }[]): void {
  const staged: [string, string][] = [];
  try {
    for (const f of files) {
      fs.mkdirSync(path.dirname(f.file), { recursive: true, mode: 0o700 });
      const tmp = tmpName(f.file);
      const fd = fs.openSync(tmp, 'wx', f.mode);
      staged.push([tmp, f.file]);
      try {
        fs.writeFileSync(fd, f.data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    for (const [tmp, file] of staged) fs.renameSync(tmp, file);
  } catch (e) {
    for (const [tmp] of staged) fs.rmSync(tmp, { force: true });
    throw e;
  }
}
