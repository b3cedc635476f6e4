/**
 * The kind of a file-system entry as COPY sees it, from lstat (a symlink is a symlink, never what it
 * points at). One small type shared by the context walker, the source trees and the copier, so a
 * listing taken once can answer "is this a symlink?" without touching the disk again.
 */
import type { Dirent, Stats } from 'node:fs';

export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'socket';

/** From lstat, or from a directory entry (readdir withFileTypes): the same questions. */
export function entryType(st: Stats | Dirent<Buffer> | Dirent): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return 'socket';
}
