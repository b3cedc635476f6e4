/**
 * etcd reads its trusted roots (--trusted-ca-file, --peer-trusted-ca-file)
 * only when it starts. When a CA rotation changes this host's roots, its
 * member is restarted so it trusts the new set (and, once the old root is
 * retired, refuses it); the managers take turns under an etcd lock, each
 * waiting for its member to serve again, so the cluster keeps its quorum.
 * With fewer than three voting members a restart would cost the quorum (the
 * store stops for a second or two): then the member keeps the roots it
 * started with until it next starts, and the manager says so. While its own
 * member restarts, the manager's store uses the other members, so its API,
 * dispatcher and leases carry on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Store } from '../store/store';
import type { Logger } from '../../shared/log';

const LOCK = 'tsswarm-etcd-restart';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function acquire(store: Store, signal: AbortSignal): Promise<{ release(): Promise<void> } | null> {
  while (!signal.aborted) {
    try {
      return await store.client.lock(LOCK).ttl(60).acquire();
    } catch {
      await sleep(500 + Math.random() * 1000);
    }
  }
  return null;
}

export interface LocalMember {
  /** The endpoint of this host's member, the one the store uses. */
  endpoint: string;
  /** This host's address: the member whose client URLs name it is this one. */
  advertise: string;
  /** Resolves once this host's member itself answers (not the store, which may use the others). */
  probe(): Promise<void>;
}

/** The other voting members' client URLs (not their loopback ones), from the member list. */
export function otherMembers(members: readonly { isLearner?: boolean; clientURLs: string[] }[], advertise: string): string[] {
  const hostOf = (u: string) => {
    try {
      return new URL(u).hostname;
    } catch {
      return '';
    }
  };
  const out: string[] = [];
  for (const m of members) {
    const urls = m.clientURLs.filter((u) => !['127.0.0.1', 'localhost', '[::1]', ''].includes(hostOf(u)));
    if (m.isLearner || urls.length === 0 || urls.some((u) => hostOf(u) === advertise)) continue;
    out.push(urls[0]!);
  }
  return out;
}

/** Restarts this host's etcd member (its supervisor starts it again) and waits until it serves. */
export async function restartLocalEtcd(store: Store, member: LocalMember | null, dataRoot: string, log: Logger, signal: AbortSignal): Promise<void> {
  const members = (await store.client.cluster.memberList({}).catch(() => ({ members: [] }))).members;
  const voters = members.filter((m) => !m.isLearner).length;
  const others = member ? otherMembers(members, member.advertise) : [];
  if (voters < 3) {
    log.warn(`this host's etcd member keeps trusting the roots it started with until it restarts: restarting it now would cost the store its quorum (${voters} voting member${voters === 1 ? '' : 's'})`);
    return;
  }
  const lock = await acquire(store, signal);
  if (!lock) return;
  try {
    const pid = Number(fs.readFileSync(path.join(dataRoot, 'etcd.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return;
    log.info('restarting this host\'s etcd member so it trusts the cluster\'s new roots');
    // Meanwhile the other members serve this manager (member is null only during start-up, while
    // the store still uses every endpoint it was given).
    if (others.length > 0) store.useEndpoints(others);
    process.kill(pid, 'SIGTERM');
    const end = Date.now() + 60_000;
    await sleep(500);
    while (Date.now() < end && !signal.aborted) {
      try {
        await (member ? member.probe() : store.client.maintenance.status());
        break;
      } catch {
        await sleep(250);
      }
    }
  } catch (e) {
    log.warn(`restarting etcd: ${(e as Error).message}`);
  } finally {
    if (member) store.useEndpoints([member.endpoint]);
    await lock.release().catch(() => undefined);
  }
}
