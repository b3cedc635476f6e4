/**
 * `tsswarm join` asks a manager what its token makes of the host. A worker
 * needs nothing more (its agent then opens a session with the token). A
 * manager needs the etcd to use: the cluster's external endpoints, or, when
 * the managers run etcd themselves, a place in the member list.
 */
import type { Cluster } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { InvalidArgumentError } from '../../shared/errors';
import { roleForToken } from '../ca/join-token';
import { addMember, memberClientUrls } from '../election/etcd-members';
import type { Store } from '../store/store';
import type { JoinAnswerMsg, JoinRequestMsg } from './messages';

export interface JoinContext {
  store: Store;
  /** True when the managers run etcd themselves (no --etcd-endpoints at init). */
  etcdManaged: boolean;
  /** The etcd endpoints this manager uses (external ones are handed on as they are). */
  etcdEndpoints: string[];
  /** Dispatcher addresses of the live managers. */
  managers(): string[];
}

/** An etcd member name from the host name (etcd allows most characters; keep it readable). */
export function memberName(hostname: string, addr: string): string {
  return `${hostname.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-${addr.replace(/[^0-9A-Za-z]/g, '-')}`;
}

export async function answerJoin(ctx: JoinContext, req: JoinRequestMsg): Promise<JoinAnswerMsg> {
  const cluster = await ctx.store.get<Cluster>(Keys.cluster);
  if (!cluster) throw new InvalidArgumentError('the cluster is not initialised yet');
  const role = roleForToken(req.token, cluster.value.joinTokens);
  if (role === null) throw new InvalidArgumentError('invalid join token');
  const answer: JoinAnswerMsg = { role, managers: ctx.managers(), etcd_endpoints: [], etcd_managed: false, etcd_name: '', etcd_initial_cluster: '' };
  if (role === 'worker') return answer;
  if (ctx.etcdManaged && !/^http:\/\/[^/]+:\d+$/.test(req.etcd_peer_url)) throw new InvalidArgumentError('a joining manager must give its etcd peer URL');
  return { ...answer, ...(await etcdForManager(ctx, req.hostname, req.addr, req.etcd_peer_url)) };
}

export type EtcdSetup = Omit<JoinAnswerMsg, 'role' | 'managers'>;

/**
 * What a host becoming a manager (a join, a promotion) needs to reach etcd:
 * the external endpoints, or a new learner member of the managers' etcd.
 */
export async function etcdForManager(ctx: Pick<JoinContext, 'store' | 'etcdManaged' | 'etcdEndpoints'>, hostname: string, addr: string, peerUrl: string): Promise<EtcdSetup> {
  if (!ctx.etcdManaged) return { etcd_endpoints: ctx.etcdEndpoints, etcd_managed: false, etcd_name: '', etcd_initial_cluster: '' };
  const name = memberName(hostname, addr);
  const clients = await memberClientUrls(ctx.store);
  const { initialCluster } = await addMember(ctx.store, name, peerUrl);
  return { etcd_managed: true, etcd_name: name, etcd_initial_cluster: initialCluster, etcd_endpoints: clients };
}
