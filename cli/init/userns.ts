/**
 * `tsswarm init|join --userns-remap default|USER`, as dockerd's: the node's containers get the
 * user's subordinate uid and gid ranges (/etc/subuid, /etc/subgid), so root in a container is an
 * unprivileged user on the host. `default` is the user `dockremap`, made (with ranges of 65536
 * ids after the ones in use) when the host has none.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../shared/errors';

export interface UsernsRemapConfig {
  user: string;
  uid: number;
  gid: number;
  size: number;
}

const DEFAULT_USER = 'dockremap';
const RANGE = 65536;

interface SubRange {
  user: string;
  start: number;
  count: number;
}

export function parseSubIds(text: string): SubRange[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length === 3 && /^\d+$/.test(f[1] ?? '') && /^\d+$/.test(f[2] ?? ''))
    .map((f) => ({ user: f[0] ?? '', start: Number(f[1]), count: Number(f[2]) }));
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The first range of `user` (by name or by its uid, as shadow-utils allows). */
function rangeOf(ranges: SubRange[], user: string, uid: string | null): SubRange | null {
  return ranges.find((r) => r.user === user || (uid !== null && r.user === uid)) ?? null;
}

function uidOf(user: string): string | null {
  const r = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Makes `dockremap` and its ranges where they are missing (dockerd does the same). */
function ensureDefaultUser(): void {
  if (uidOf(DEFAULT_USER) === null) {
    const r = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/false', DEFAULT_USER], { encoding: 'utf8' });
    if (r.status !== 0) throw new InvalidArgumentError(`--userns-remap default: cannot create the user ${DEFAULT_USER}: ${(r.stderr || r.error?.message || '').trim()}`);
  }
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const ranges = parseSubIds(read(file));
    if (rangeOf(ranges, DEFAULT_USER, null) !== null) continue;
    const start = Math.max(100000, ...ranges.map((x) => x.start + x.count));
    appendFileSync(file, `${DEFAULT_USER}:${start}:${RANGE}\n`);
  }
}

export function resolveUsernsRemap(value: string): UsernsRemapConfig {
  const user = value === 'default' ? DEFAULT_USER : value;
  if (!/^[a-z_][a-z0-9_-]*\$?$/i.test(user)) throw new InvalidArgumentError(`--userns-remap ${value}: not a user name`);
  if (value === 'default') ensureDefaultUser();
  const uid = uidOf(user);
  if (uid === null) throw new InvalidArgumentError(`--userns-remap ${value}: no such user`);
  const u = rangeOf(parseSubIds(read('/etc/subuid')), user, uid);
  const g = rangeOf(parseSubIds(read('/etc/subgid')), user, uid);
  if (u === null || g === null) throw new InvalidArgumentError(`--userns-remap ${value}: ${user} has no subordinate ${u === null ? 'uid' : 'gid'} range in /etc/sub${u === null ? 'uid' : 'gid'}`);
  const size = Math.min(u.count, g.count);
  if (size < RANGE) throw new InvalidArgumentError(`--userns-remap ${value}: ${user}'s subordinate ranges hold ${size} ids; containers need ${RANGE}`);
  return { user, uid: u.start, gid: g.start, size: RANGE };
}
