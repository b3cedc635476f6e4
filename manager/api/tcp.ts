/**
 * The API on TCP (`init --listen-api tcp://ADDR:PORT`, off by default): the
 * unix socket's handler behind mutual TLS. Only operators' client
 * certificates from the cluster CA (`tsswarm ca client-cert`) get in; a node's
 * certificate, a self-signed one or none is refused before any route runs.
 */
import type * as http from 'node:http';
import type * as https from 'node:https';
import { clientOf, createMutualTlsServer } from '../../shared/pki/https';
import type { TlsIdentity } from '../../shared/pki/tls-identity';

function refuse(res: http.ServerResponse, message: string): void {
  res.writeHead(401, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message } }));
}

/** Why a request on the TCP API is refused, or null when its client certificate is an operator's of this cluster. */
export function tcpRefusal(req: http.IncomingMessage, clusterId: string): string | null {
  const c = clientOf(req);
  if (!c || c.clusterId !== clusterId) return 'a client certificate of this cluster is required (tsswarm ca client-cert on a manager makes one)';
  if (c.role !== 'client') return `a ${c.role}'s certificate cannot use the API; use a client certificate (tsswarm ca client-cert)`;
  return null;
}

export async function listenTcpApi(tls: TlsIdentity, handler: http.RequestListener, listen: string, clusterId: string): Promise<https.Server> {
  const server = createMutualTlsServer(tls, (req, res) => {
    const refused = tcpRefusal(req, clusterId);
    if (refused !== null) return refuse(res, refused);
    handler(req, res);
  });
  const colon = listen.lastIndexOf(':');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(listen.slice(colon + 1)), listen.slice(0, colon), () => resolve());
  });
  return server;
}
