/**
 * `tsswarm join` asks a manager what its token makes of the host. The answer
 * carries the host's node certificate (a new node id, the token's role), and
 * for a manager what it needs to start: its etcd certificate and the etcd to
 * use (the cluster's external endpoints and their credentials, or a place in
 * the managers' member list).
 */
import type { Cluster, ClusterNode } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { InvalidArgumentError } from '../../shared/errors';
import { newId } from '../../shared/ids';
import { roleForToken } from '../ca/join-token';
import type { NodeCa } from '../ca/node-ca';
import { addMember, memberClientUrls } from '../election/etcd-members';
import type { Store } from '../store/store';
import type { JoinAnswerMsg, JoinRequestMsg } from './messages';

export interface ExternalEtcdCredentials {
  ca: string;
  cert: string;
  key: string;
}

export interface JoinContext {
  store: Store;
  ca: NodeCa;
  /** True when the managers run etcd themselves (no --etcd-endpoints at init). */
  etcdManaged: boolean;
  /** The etcd endpoints this manager uses (external ones are handed on as they are). */
  etcdEndpoints: string[];
  /** External etcd's TLS credentials, handed to joining managers (null: plain or managed). */
  externalEtcd: ExternalEtcdCredentials | null;
  /** Dispatcher addresses of the live managers. */
  managers(): string[];
}

/** An etcd member name from the host name (etcd allows most characters; keep it readable). */
export function memberName(hostname: string, addr: string): string {
  return `${hostname.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)}-${addr.replace(/[^0-9A-Za-z]/g, '-')}`;
}

const PEER_URL = /^https:\/\/[^/]+:\d+$/;

export async function answerJoin(ctx: JoinContext, req: JoinRequestMsg): Promise<JoinAnswerMsg> {
  const cluster = await ctx.store.get<Cluster>(Keys.cluster);
  if (!cluster) throw new InvalidArgumentError('the cluster is not initialised yet');
  const role = roleForToken(req.token, cluster.value.joinTokens);
  if (role === null) throw new InvalidArgumentError('invalid join token (rotated, or of another cluster)');
  if (!req.csr_pem) throw new InvalidArgumentError('a joining host must send a certificate request');
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(req.addr)) throw new InvalidArgumentError(`invalid advertise address ${JSON.stringify(req.addr)}`);
  const nodes = await ctx.store.list<ClusterNode>(Keys.nodes);
  const dup = nodes.find((n) => n.value.addr === req.addr && n.value.status.state === 'ready');
  if (dup) throw new InvalidArgumentError(`this host (${req.addr}) is already node ${dup.value.hostname} (${dup.value.id.slice(0, 12)}) of the cluster`);
  if (role === 'manager' && !req.etcd_csr_pem) throw new InvalidArgumentError('a joining manager must send a certificate request for its etcd member');
  if (role === 'manager' && ctx.etcdManaged && !PEER_URL.test(req.etcd_peer_url)) throw new InvalidArgumentError('a joining manager must give its etcd peer URL (https://ADDR:PORT)');
  // The id is the manager's choice: a token holder cannot take over another node's identity.
  const nodeId = newId();
  const node = await ctx.ca.issueNode(req.csr_pem, nodeId, role, req.addr);
  const etcdCert = role === 'manager' ? (await ctx.ca.issueEtcd(req.etcd_csr_pem, req.addr)).certPem : '';
  const host = { role, managers: ctx.managers(), etcd_endpoints: [] as string[], etcd_managed: false, etcd_name: '', etcd_initial_cluster: '' };
  const ext = role === 'manager' && !ctx.etcdManaged ? ctx.externalEtcd : null;
  return {
    host: role === 'worker' ? host : { ...host, ...(await etcdForManager(ctx, req.hostname, req.addr, req.etcd_peer_url)) },
    certs: { node_id: nodeId, role, cert_pem: node.certPem, trust_pem: node.trustPem, etcd_cert_pem: etcdCert },
    external_etcd_ca: ext?.ca ?? '',
    external_etcd_cert: ext?.cert ?? '',
    external_etcd_key: ext?.key ?? '',
  };
}

export interface EtcdSetup {
  etcd_endpoints: string[];
  etcd_managed: boolean;
  etcd_name: string;
  etcd_initial_cluster: string;
}

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
