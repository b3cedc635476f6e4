/**
 * When the managers run etcd themselves (no --etcd-endpoints), every manager
 * host is an etcd member. A joining manager's member is added as a learner
 * (it does not count toward quorum, so a join that fails half-way cannot
 * cost the cluster its quorum), starts with the --initial-cluster this
 * returns, and its manager promotes it to a voting member once it has caught
 * up. Three managers are three members: one may die.
 */
import type { IMember, IMemberAddResponse } from 'etcd3';
import type { Store } from '../store/store';
import type { Logger } from '../../shared/log';
import { InvalidArgumentError } from '../../shared/errors';

/** The client URLs of the started voting members: what a manager connects to. */
export async function memberClientUrls(store: Store): Promise<string[]> {
  const res = await store.client.cluster.memberList({});
  return res.members.filter((m) => !m.isLearner).flatMap((m) => m.clientURLs ?? []);
}

const loopback = (url: string) => /\/\/(127\.|localhost)/.test(url);

/**
 * Adds a learner for a joining manager. A member with the same peer URL that
 * never became a voter (an earlier join that failed) is replaced; a voting
 * one is refused. A cluster whose members listen on loopback only (made
 * before managers could join) is refused: the new member could not reach it.
 */
export async function addMember(store: Store, name: string, peerUrl: string): Promise<{ initialCluster: string }> {
  const list = await store.client.cluster.memberList({});
  const same = list.members.find((m) => m.peerURLs.includes(peerUrl));
  if (same && !same.isLearner && same.name !== '') throw new InvalidArgumentError(`${peerUrl} is already an etcd member of this cluster`);
  if (same) await store.client.cluster.memberRemove({ ID: same.ID });
  if (!loopback(peerUrl) && list.members.some((m) => m.peerURLs.every(loopback))) {
    throw new InvalidArgumentError("this cluster's etcd listens on loopback only; managers cannot join it (re-create it with tsswarm init --advertise-addr)");
  }
  const res = await addWhenHealthy(store, peerUrl);
  const entries = res.members.flatMap((m: IMember) => {
    const n = m.ID === res.member.ID ? name : m.name;
    return m.peerURLs.map((u) => `${n}=${u}`);
  });
  return { initialCluster: entries.join(',') };
}

/**
 * etcd refuses to change its membership until every voter has been connected
 * for a few seconds ("unhealthy cluster"), as right after another manager
 * joined: wait that out, within the joining CLI's patience.
 */
async function addWhenHealthy(store: Store, peerUrl: string, deadlineMs = 20000): Promise<IMemberAddResponse> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await store.client.cluster.memberAdd({ peerURLs: [peerUrl], isLearner: true });
    } catch (e) {
      if (!/unhealthy cluster|circuit breaker|unavailable/i.test((e as Error).message) || Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Promotes this host's learner to a voting member; etcd refuses until the
 * learner has caught up with the leader's log, so it is tried until it takes.
 */
export async function promoteWhenReady(store: Store, name: string, log: Logger, deadlineMs = 120000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (let i = 0; ; i++) {
    try {
      const me = (await store.client.cluster.memberList({})).members.find((m) => m.name === name);
      if (me && !me.isLearner) return;
      if (me) {
        await store.client.cluster.memberPromote({ ID: me.ID });
        log.info(`etcd member ${name} promoted to a voting member`);
        return;
      }
    } catch (e) {
      if (Date.now() > end) throw e;
      if (i % 10 === 0) log.info(`etcd member ${name} not ready for promotion yet: ${(e as Error).message}`);
    }
    if (Date.now() > end) throw new Error(`etcd member ${name} did not appear in the member list`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Removes the members whose peer URL is on `addr` (a demoted manager's host). */
export async function removeMembersOn(store: Store, addr: string): Promise<number> {
  const list = await store.client.cluster.memberList({});
  const mine = list.members.filter((m) => m.peerURLs.some((u) => new URL(u).hostname === addr));
  for (const m of mine) await store.client.cluster.memberRemove({ ID: m.ID });
  return mine.length;
}
