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
import type { ClientCertRequest } from '../../shared/api-types';
import type { CommandContext } from '../context';

export async function ca(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.args.positionals;
  if (sub !== 'client-cert' || rest.length) throw new InvalidArgumentError('usage: tsswarm ca client-cert --out DIR [--expiry DURATION]');
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
