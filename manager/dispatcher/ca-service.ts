/**
 * The dispatcher's certificate methods: the roots for anyone (a joining host
 * checks them against its token), a join for a token holder, a renewal for a
 * node with a valid certificate, the data key for a manager.
 */
import * as grpc from '@grpc/grpc-js';
import type { ClusterNode, NodeRole } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { isTsswarmError } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import type { Store } from '../store/store';
import type { RevokedNodes } from '../ca/revoked';
import { answerJoin, type JoinContext } from './join';
import { PeerRefusal, requirePeer } from './peer';
import type { CertificatesMsg, DataKeyMsg, JoinAnswerMsg, JoinRequestMsg, RenewRequestMsg } from './messages';

export interface CaServiceContext extends JoinContext {
  clusterId: string;
  log: Logger;
  revoked: RevokedNodes;
  /** The cluster's data key (null while this manager is locked). */
  dek(): { key: Buffer; autolock: boolean } | null;
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, done: grpc.sendUnaryData<Res>) => void;

/** A unary method whose errors become statuses: refusals as they are, user errors FAILED_PRECONDITION. */
function unary<Req, Res>(log: Logger, name: string, f: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): Unary<Req, Res> {
  return (call, done) => {
    f(call).then(
      (res) => done(null, res),
      (e: Error) => {
        const code = e instanceof PeerRefusal ? e.grpcCode : isTsswarmError(e) ? grpc.status.FAILED_PRECONDITION : grpc.status.INTERNAL;
        log.warn(`${name} from ${call.getPeer()} refused: ${e.message}`);
        done({ code, details: e.message });
      },
    );
  };
}

export function caMethods(ctx: CaServiceContext): Record<string, Unary<never, never>> {
  const { log } = ctx;
  const methods = {
    GetRootCA: unary<Record<string, never>, { trust_pem: string }>(log, 'GetRootCA', async () => ({ trust_pem: await ctx.ca.trustPem() })),
    Join: unary<JoinRequestMsg, JoinAnswerMsg>(log, 'Join', async (call) => {
      const a = await answerJoin(ctx, call.request);
      log.info(`${call.request.hostname} (${call.request.addr}) joined as ${a.certs.role} ${a.certs.node_id.slice(0, 12)}${a.host.etcd_managed ? `, etcd member ${a.host.etcd_name}` : ''}`);
      return a;
    }),
    Renew: unary<RenewRequestMsg, CertificatesMsg>(log, 'Renew', async (call) => {
      const peer = requirePeer(call, ctx.clusterId, ['manager', 'worker'], ctx.revoked);
      return renew(ctx, ctx.store, peer.nodeId, peer.role as NodeRole, call.request);
    }),
    GetDataKey: unary<Record<string, never>, DataKeyMsg>(log, 'GetDataKey', async (call) => {
      const peer = requirePeer(call, ctx.clusterId, ['manager'], ctx.revoked);
      const node = await ctx.store.get<ClusterNode>(Keys.node(peer.nodeId));
      // A demoted manager's certificate still says manager until it renews: the record decides.
      if (node && node.value.role !== 'manager') throw new PeerRefusal(grpc.status.PERMISSION_DENIED, 'this node is no longer a manager');
      const dek = ctx.dek();
      if (!dek) throw new PeerRefusal(grpc.status.UNAVAILABLE, 'this manager is locked');
      log.info(`handed the data key to manager ${peer.nodeId.slice(0, 12)}`);
      return { dek: dek.key, autolock: dek.autolock };
    }),
  };
  return methods as unknown as Record<string, Unary<never, never>>;
}

/** A renewal: the role on record wins over the certificate's (a promotion or demotion happened). */
async function renew(ctx: CaServiceContext, store: Store, nodeId: string, certRole: NodeRole, req: RenewRequestMsg): Promise<CertificatesMsg> {
  const node = await store.get<ClusterNode>(Keys.node(nodeId));
  const role = node?.value.role ?? certRole;
  const addr = node?.value.addr ?? '';
  const issued = await ctx.ca.issueNode(req.csr_pem, nodeId, role, addr);
  const etcd = role === 'manager' && req.etcd_csr_pem ? (await ctx.ca.issueEtcd(req.etcd_csr_pem, addr)).certPem : '';
  ctx.log.info(`renewed the certificate of ${node?.value.hostname ?? nodeId.slice(0, 12)} (${role})`);
  return { node_id: nodeId, role, cert_pem: issued.certPem, trust_pem: issued.trustPem, etcd_cert_pem: etcd };
}
