/**
 * One call to a cluster listener, made from inside a test host's network namespace (the hosts'
 * addresses exist only there), with whatever credentials the test hands it: none, a node's files,
 * a forged or an expired certificate. Run as a script it prints one line of JSON, a ProbeResult;
 * the test side calls probe(), which runs it under nsenter and parses that line.
 *
 *   grpc   a Dispatcher method (GetRootCA, Renew, GetDataKey, or a Session's Register)
 *   https  a GET (the registry, the TCP API)
 *   raw    bytes to a TCP port and whatever comes back (plain HTTP to a TLS-only port)
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import type * as Grpc from '@grpc/grpc-js';
import type { TestHost, TestHosts } from './hosts';

/** PEM files; without cert/key the probe presents no certificate. */
export interface ProbeTls {
  ca: string;
  cert?: string;
  key?: string;
}

export interface SessionRegister {
  node_id: string;
  hostname: string;
  addr: string;
  role: 'manager' | 'worker';
}

export type ProbeArgs =
  | { kind: 'grpc'; addr: string; method: 'GetRootCA' | 'Renew' | 'GetDataKey'; tls: ProbeTls }
  | { kind: 'grpc'; addr: string; method: 'Session'; tls: ProbeTls; register: SessionRegister }
  | { kind: 'https'; url: string; tls: ProbeTls }
  | { kind: 'raw'; host: string; port: number; send: string };

/**
 * ok: the call went through (gRPC status OK, HTTP 2xx, raw: connected). code: the gRPC status
 * code, the HTTP status, or a Node error code (ECONNRESET) when there was no answer. answer: what
 * came back (raw: the bytes read as latin1).
 */
export interface ProbeResult {
  ok: boolean;
  code: number | string | null;
  details: string;
  answer: unknown;
}

const TIMEOUT_MS = 15000;

function readTls(t: ProbeTls): { ca: Buffer; cert: Buffer | null; key: Buffer | null } {
  return { ca: fs.readFileSync(t.ca), cert: t.cert ? fs.readFileSync(t.cert) : null, key: t.key ? fs.readFileSync(t.key) : null };
}

type Unary = (req: object, opts: Grpc.CallOptions, cb: (e: Grpc.ServiceError | null, a: Record<string, unknown>) => void) => void;

async function grpcProbe(a: Extract<ProbeArgs, { kind: 'grpc' }>): Promise<ProbeResult> {
  const grpc = await import('@grpc/grpc-js');
  const { dispatcherClient } = await import('../../../shared/proto/load');
  const { requireRole } = await import('../../../shared/pki/roles');
  const t = readTls(a.tls);
  // The server must be a manager of the cluster whose roots are given: a refusal is then the server's.
  const creds = grpc.credentials.createSsl(t.ca, t.key, t.cert, { checkServerIdentity: requireRole('manager') });
  const client = dispatcherClient(a.addr, creds);
  try {
    if (a.method === 'Session') return await sessionProbe(client, a.register);
    const req = a.method === 'Renew' ? { csr_pem: (await (await import('../../../shared/pki/issue')).newKeyAndCsr()).csrPem, etcd_csr_pem: '' } : {};
    return await new Promise<ProbeResult>((resolve) => {
      const f = (client as unknown as Record<string, Unary>)[a.method]!;
      f.call(client, req, { deadline: Date.now() + TIMEOUT_MS }, (e, res) => {
        if (e) return resolve({ ok: false, code: e.code, details: e.details, answer: null });
        resolve({ ok: true, code: grpc.status.OK, details: '', answer: summary(a.method, res) });
      });
    });
  } finally {
    client.close();
  }
}

/** What a test compares of an answer: never key material. */
function summary(method: string, res: Record<string, unknown>): unknown {
  if (method === 'GetDataKey') return { dekBytes: (res.dek as Buffer).length, autolock: res.autolock };
  if (method === 'Renew') return { nodeId: res.node_id, role: res.role };
  return { trustPem: res.trust_pem };
}

/** Opens a session, registers, and reports the manager's first answer (welcome or rejected) or the call's status. */
function sessionProbe(client: Grpc.Client, r: SessionRegister): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const call = (client as unknown as { Session(o: Grpc.CallOptions): Grpc.ClientDuplexStream<unknown, Record<string, Record<string, unknown>>> }).Session({ deadline: Date.now() + TIMEOUT_MS });
    let done = false;
    const finish = (p: ProbeResult) => {
      if (done) return;
      done = true;
      call.cancel();
      resolve(p);
    };
    call.on('data', (m) => {
      if (m.rejected) finish({ ok: true, code: 0, details: '', answer: { rejected: m.rejected.reason } });
      else if (m.welcome) finish({ ok: true, code: 0, details: '', answer: { welcome: m.welcome.node_id } });
      else finish({ ok: true, code: 0, details: '', answer: { first: Object.keys(m) } });
    });
    call.on('error', (e: Grpc.ServiceError) => finish({ ok: false, code: e.code, details: e.details, answer: null }));
    call.on('end', () => finish({ ok: false, code: null, details: 'the stream ended without an answer', answer: null }));
    call.write({ register: { ...r, nano_cpus: 1e9, memory_bytes: 2 ** 30, labels: {} } });
  });
}

async function httpsProbe(a: Extract<ProbeArgs, { kind: 'https' }>): Promise<ProbeResult> {
  const { requireRole } = await import('../../../shared/pki/roles');
  const t = readTls(a.tls);
  return new Promise((resolve) => {
    const req = https.get(a.url, { ca: t.ca, ...(t.cert ? { cert: t.cert } : {}), ...(t.key ? { key: t.key } : {}), checkServerIdentity: requireRole('manager'), timeout: TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let answer: unknown = body;
        try {
          answer = JSON.parse(body);
        } catch {
          // not JSON: the text as it is
        }
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, code: status, details: '', answer });
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, code: e.code ?? null, details: e.message, answer: null }));
  });
}

/** Sends `send` and collects what comes back until the peer closes (or a few seconds pass). */
function rawProbe(a: Extract<ProbeArgs, { kind: 'raw' }>): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let connected = false;
    let error = '';
    const s = net.connect(a.port, a.host, () => {
      connected = true;
      s.write(a.send);
    });
    s.setTimeout(3000, () => s.destroy());
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on('close', () => resolve({ ok: connected, code: error || null, details: error, answer: Buffer.concat(chunks).toString('latin1') }));
  });
}

function run(a: ProbeArgs): Promise<ProbeResult> {
  if (a.kind === 'grpc') return grpcProbe(a);
  if (a.kind === 'https') return httpsProbe(a);
  return rawProbe(a);
}

/** Runs the probe inside host `h`'s network namespace. */
export function probe(hosts: TestHosts, h: TestHost, args: ProbeArgs): ProbeResult {
  const r = hosts.exec(h, process.execPath, [__filename, JSON.stringify(args)]);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ProbeResult;
  } catch {
    throw new Error(`tls-probe in ${h.name} exited ${r.code} without a result: ${r.stderr}${r.stdout}`);
  }
}

if (require.main === module) {
  run(JSON.parse(process.argv[2] ?? '{}') as ProbeArgs).then(
    (p) => {
      process.stdout.write(`${JSON.stringify(p)}\n`);
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
