/**
 * What `--chown` and `--chmod` of COPY/ADD turn into: a uid:gid, and a mode.
 *
 * `--chown` is `user`, `uid`, `user:group`, `uid:gid` (mixes too). Names are looked up in the
 * image being built (its /etc/passwd and /etc/group, read through resolveInRoot so an image's
 * symlinked /etc cannot point the lookup at the host's), numbers and `root` need no lookup. A
 * user alone brings its primary group from passwd; a uid alone is also the gid (as in BuildKit).
 * Unlike BuildKit, which quietly uses 0 for a name it cannot find, a missing name is an error in
 * the words of moby's user lookup (`unable to find user app: no matching entries in passwd file`).
 *
 * `--chmod` is an octal mode up to 07777, applied as the whole mode (setuid/setgid/sticky
 * included) to every copied file and directory, as BuildKit's copier does. BuildKit also takes
 * chmod(1)'s symbolic modes (`u+x`, `go=rX`); those are refused here, by name.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { InvalidArgumentError } from '../../../shared/errors';
import { resolveInRoot } from './rootfs-path';

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** BuildKit refuses a passwd or group file larger than this. */
const MAX_USER_FILE = 10 << 20;
const MAX_ID = 0xfffffffe; // (uid_t)-1 means "unchanged" to chown(2)

function parseId(s: string): number | null {
  if (s === 'root') return 0;
  if (!/^[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return n <= MAX_ID ? n : null;
}

/** The rootfs's /etc/passwd or /etc/group as lines; none when it has no such regular file. */
async function readUserFile(rootfs: string, path: string): Promise<string[]> {
  // O_NONBLOCK: a FIFO planted at /etc/passwd must not hang the build.
  const file = await open(await resolveInRoot(rootfs, path), constants.O_RDONLY | constants.O_NONBLOCK).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return null;
    throw e;
  });
  if (file === null) return [];
  try {
    const st = await file.stat();
    if (!st.isFile()) throw new InvalidArgumentError(`${path} in the image is not a regular file`);
    if (st.size > MAX_USER_FILE) throw new InvalidArgumentError(`${path} in the image exceeds ${MAX_USER_FILE} bytes`);
    return (await file.readFile('utf8')).split('\n');
  } finally {
    await file.close();
  }
}

/** The fields of the first line whose first field is `name`, with `idFields` of them numbers. */
async function findEntry(rootfs: string, path: string, name: string, idFields: readonly number[]): Promise<string[] | null> {
  for (const line of await readUserFile(rootfs, path)) {
    const fields = line.trim().split(':');
    if (fields[0] !== name || line.startsWith('#')) continue;
    if (idFields.every((i) => /^[0-9]+$/.test(fields[i] ?? ''))) return fields;
  }
  return null;
}

async function lookupUser(rootfs: string, name: string): Promise<Owner> {
  const fields = await findEntry(rootfs, '/etc/passwd', name, [2, 3]);
  if (fields === null) throw new InvalidArgumentError(`unable to find user ${name}: no matching entries in passwd file`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

async function lookupGroup(rootfs: string, name: string): Promise<number> {
  const fields = await findEntry(rootfs, '/etc/group', name, [2]);
  if (fields === null) throw new InvalidArgumentError(`unable to find group ${name}: no matching entries in group file`);
  return Number(fields[2]);
}

/** `--chown`'s value as a uid:gid, names looked up in the rootfs the files are copied into. */
export async function resolveChown(rootfs: string, spec: string): Promise<Owner> {
  const cut = spec.indexOf(':');
  const user = cut < 0 ? spec : spec.slice(0, cut);
  const group = cut < 0 ? null : spec.slice(cut + 1);
  if (user === '' || group === '') throw new InvalidArgumentError(`invalid --chown=${spec}: expected user, uid, user:group or uid:gid`);

  const uid = parseId(user);
  const gid = group === null ? null : parseId(group);
  let owner: Owner;
  if (uid !== null) owner = { uid, gid: uid };
  else if (/^[0-9]+$/.test(user)) throw new InvalidArgumentError(`invalid --chown=${spec}: uid ${user} is out of range`);
  else owner = await lookupUser(rootfs, user);
  if (group === null) return owner;
  if (gid !== null) return { uid: owner.uid, gid };
  if (/^[0-9]+$/.test(group)) throw new InvalidArgumentError(`invalid --chown=${spec}: gid ${group} is out of range`);
  return { uid: owner.uid, gid: await lookupGroup(rootfs, group) };
}

/** `--chmod`'s value as a mode (permission bits with setuid, setgid and sticky). */
export function parseChmod(spec: string): number {
  if (/^[0-7]+$/.test(spec)) {
    const mode = parseInt(spec, 8);
    if (mode <= 0o7777) return mode;
  }
  if (/^[0-9]+$/.test(spec)) throw new InvalidArgumentError(`invalid chmod parameter: '${spec}'. it should be octal string and between 0 and 07777`);
  throw new InvalidArgumentError(`--chmod=${spec}: symbolic modes are not supported; give an octal mode such as 0755 or 644`);
}
