/**
 * The Docker socket of a worker host (`<data root>/docker.sock`, and `--docker-socket PATH`): each
 * connection is relayed byte for byte, over mutual TLS with the node's certificate, to the
 * manager the agent's session is with (its registry listener answers the Docker API too). Bytes,
 * not requests: streams, follows and hijacked exec connections pass as they are. The manager
 * decides what a worker's certificate may do (manager/docker-api/server.ts: read the cluster, act
 * on this node's own containers and volumes).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Logger } from '../shared/log';
import type { TlsIdentity } from '../shared/pki/tls-identity';
import { requireRole } from '../shared/pki/roles';
import { listenUnixIfFree } from '../shared/unix-socket';

const NO_MANAGER = 'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"message":"this host\'s agent has no manager session yet; try again"}\n';

export class DockerSocketProxy {
  private readonly servers: net.Server[] = [];
  private readonly open = new Set<net.Socket>();

  constructor(
    private readonly identity: TlsIdentity,
    /** `https://IP:PORT` of the manager the session is with, or null. */
    private readonly manager: () => string | null,
    private readonly log: Logger,
  ) {}

  /** Listens on each path; one that is in use is skipped with a warning (it is not ours to take). */
  async listen(paths: string[]): Promise<void> {
    for (const p of paths) {
      const server = net.createServer((c) => this.relay(c));
      try {
        await listenUnixIfFree(server, p);
        this.servers.push(server);
      } catch (e) {
        this.log.warn(`the Docker socket ${p}: ${(e as Error).message}`);
      }
    }
  }

  private relay(client: net.Socket): void {
    const url = this.manager();
    if (url === null) {
      client.end(NO_MANAGER);
      return;
    }
    const u = new URL(url);
    const m = this.identity.current;
    const upstream = tls.connect({ host: u.hostname, port: Number(u.port), ca: m.ca, cert: m.cert, key: m.key, checkServerIdentity: requireRole('manager') });
    this.open.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.open.delete(client);
      this.open.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', (e) => {
      this.log.debug(`docker socket relay to ${u.host}: ${e.message}`);
      close();
    });
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  close(): void {
    for (const s of this.servers) s.close();
    for (const c of this.open) c.destroy();
    this.servers.length = 0;
    this.open.clear();
  }
}
