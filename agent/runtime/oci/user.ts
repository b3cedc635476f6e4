/**
 * A service's `user` (`name`, `uid`, `name:group`, `uid:gid`) resolved against the image's own
 * /etc/passwd and /etc/group, as Docker does before it hands the numbers to the runtime. The files
 * are read inside the rootfs by the caller (never through the host's NSS).
 */
import { InvalidContainerConfigError } from '../errors';

export interface Identity {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

const MAX_ID = 0xfffffffe;

function parseId(s: string): number | null {
  if (!/^\d{1,10}$/.test(s)) return null;
  const n = Number(s);
  return n <= MAX_ID ? n : null;
}

function rows(text: string | null, minFields: number): string[][] {
  if (text === null) return [];
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= minFields);
}

/** `user` null means root. The files are null when the image has none. */
export function resolveIdentity(user: string | null, passwd: string | null, group: string | null): Identity {
  const spec = user ?? '0';
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? null : spec.slice(colon + 1);
  const numeric = parseId(userPart);
  let id: Identity | null = null;
  let userName: string | null = null;
  for (const f of rows(passwd, 7)) {
    const uid = parseId(f[2] ?? '');
    const gid = parseId(f[3] ?? '');
    if (uid === null || gid === null) continue;
    if (numeric !== null ? uid === numeric : f[0] === userPart) {
      id = { uid, gid, additionalGids: [], home: f[5] || '/' };
      userName = f[0] ?? null;
      break;
    }
  }
  if (id === null) {
    if (numeric === null) throw new InvalidContainerConfigError(`unable to find user ${userPart}: no matching entries in passwd file`, 'user');
    id = { uid: numeric, gid: 0, additionalGids: [], home: '/' };
  }
  const groups = rows(group, 3);
  if (groupPart !== null) {
    let gid = parseId(groupPart);
    if (gid === null) {
      const row = groups.find((f) => f[0] === groupPart && parseId(f[2] ?? '') !== null);
      if (row === undefined) throw new InvalidContainerConfigError(`unable to find group ${groupPart}: no matching entries in group file`, 'user');
      gid = parseId(row[2] ?? '') as number;
    }
    id.gid = gid;
  } else if (userName !== null) {
    // Supplementary groups only when the group was not given explicitly, as Docker does.
    for (const f of groups) {
      const gid = parseId(f[2] ?? '');
      if (gid === null || gid === id.gid) continue;
      if ((f[3] ?? '').split(',').includes(userName) && !id.additionalGids.includes(gid)) id.additionalGids.push(gid);
    }
  }
  return id;
}
