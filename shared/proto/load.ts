/** Loads dispatcher.proto at run time (proto-loader), shared by manager and agent. */
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The .proto lives in the source tree; compiled code runs from dist/, so look in both places. */
function protoPath(): string {
  const candidates = [
    path.join(__dirname, 'dispatcher.proto'),
    path.join(__dirname, '..', '..', '..', 'shared', 'proto', 'dispatcher.proto'),
  ];
  for (const p of candidates) if (fs.existsSync(p)) return p;
  throw new Error(`dispatcher.proto not found (looked in ${candidates.join(', ')})`);
}

export interface DispatcherPackage {
  Dispatcher: grpc.ServiceClientConstructor;
}

let cached: DispatcherPackage | null = null;

export function loadDispatcher(): DispatcherPackage {
  if (cached) return cached;
  const def = protoLoader.loadSync(protoPath(), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { tsswarm: { v1: DispatcherPackage } };
  cached = pkg.tsswarm.v1;
  return cached;
}

/**
 * A client of a manager's dispatcher. TLS is addressed to the managers' common name rather than
 * the IP dialled (Node warns about IP server names, and the certificate's role is what is
 * checked, see shared/pki/roles.ts requireRole).
 */
export function dispatcherClient(addr: string, creds: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}): grpc.Client {
  const { Dispatcher } = loadDispatcher();
  return new Dispatcher(addr, creds, { 'grpc.ssl_target_name_override': 'tsswarm-manager', ...options });
}

type Unary = (req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, a: unknown) => void) => void;

/** One unary call of the dispatcher at `addr` on a channel of its own, closed after; rejects with the call's ServiceError. */
export function callDispatcher<T>(addr: string, creds: grpc.ChannelCredentials, method: string, req: object, timeoutMs: number): Promise<T> {
  const client = dispatcherClient(addr, creds);
  return new Promise<T>((resolve, reject) => {
    (client as unknown as Record<string, Unary>)[method]!.call(client, req, { deadline: Date.now() + timeoutMs }, (e, a) => {
      client.close();
      if (e) reject(e);
      else resolve(a as T);
    });
  });
}
