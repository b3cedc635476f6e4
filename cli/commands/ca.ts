/**
 * `tsswarm ca client-cert --out DIR [--expiry DURATION]`: a key made here and
 * a certificate for it signed by the cluster CA (OU tsswarm-client), written
 * as ca.pem, cert.pem and key.pem (DOCKER_CERT_PATH's layout) for the TCP API.
 */
import * as path from 'node:path';
import { InvalidArgumentError } from '../../shared/errors';
import { flagString } from '../../shared/flags';
import { parseDurationMs } from '../../shared/compose/units';
import { writeFilesAtomic } from '../../shared/pki/node-files';
import type { CaView, ClientCertRequest } from '../../shared/api-types';
import { certExpiryFlag, formatDuration } from '../cert-expiry';
import type { CommandContext } from '../context';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `tsswarm ca [--rotate [--detach]] [--cert-expiry DURATION]`: the CA's state; with --rotate a new
 * root, waiting (unless --detach) until every node holds a certificate from it and the old root
 * is retired.
 */
async function caState(ctx: CommandContext): Promise<void> {
  const expiry = certExpiryFlag(ctx.args);
  if (expiry !== null) await ctx.client.post('/v1/cluster/update', { certExpiryMs: expiry });
  const rotate = ctx.args.flags.get('rotate') === true;
  let v = rotate ? await ctx.client.post<CaView>('/v1/ca/rotate', {}) : await ctx.client.get<CaView>('/v1/ca');
  if (rotate && ctx.args.flags.get('detach') !== true) {
    const tty = process.stdout.isTTY;
    for (;;) {
      const line = `rotating the root CA: ${v.nodes - v.pending.length}/${v.nodes} nodes renewed${v.pending.length ? ` (waiting for ${v.pending.map((p) => p.hostname).join(', ')})` : ''}`;
      if (tty) process.stdout.write(`\r${line}\x1b[K`);
      if (!v.rotating) break;
      await sleep(500);
      v = await ctx.client.get<CaView>('/v1/ca');
    }
    if (tty) process.stdout.write('\n');
  }
  if (ctx.json) {
    process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    return;
  }
  process.stdout.write(`root CA ${v.root.slice(0, 12)}…${v.rotating ? `, rotation under way: ${v.pending.length} of ${v.nodes} nodes still to renew` : ''}\nnode certificates valid ${formatDuration(v.certExpiryMs)}\n`);
}

export async function ca(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.args.positionals;
  if (sub === undefined) return caState(ctx);
  if (sub !== 'client-cert' || rest.length) throw new InvalidArgumentError('usage: tsswarm ca [--rotate] [--cert-expiry DURATION] | tsswarm ca client-cert --out DIR [--expiry DURATION]');
  const out = flagString(ctx.args, 'out');
  if (!out) throw new InvalidArgumentError('ca client-cert: --out DIR is required');
  const expiry = flagString(ctx.args, 'expiry');
  const expiryMs = expiry === null ? undefined : parseDurationMs(expiry);
  if (expiryMs === null) throw new InvalidArgumentError(`--expiry: invalid duration ${JSON.stringify(expiry)} (e.g. 720h)`);
  const { newKeyAndCsr } = await import('../../shared/pki/issue');
  const k = await newKeyAndCsr();
  const req: ClientCertRequest = { csrPem: k.csrPem, ...(expiryMs !== undefined ? { expiryMs } : {}) };
  const r = await ctx.client.post<{ certPem: string; caPem: string }>('/v1/ca/client-cert', req);
  const dir = path.resolve(out);
  writeFilesAtomic([
    { file: path.join(dir, 'ca.pem'), data: r.caPem },
    { file: path.join(dir, 'key.pem'), data: k.keyPem, secret: true },
    { file: path.join(dir, 'cert.pem'), data: r.certPem },
  ]);
  process.stdout.write(`client certificate written to ${dir} (ca.pem, cert.pem, key.pem); use it with --tlsverify or TSSWARM_CERT_PATH=${dir}\n`);
}
