/**
 * The CLI's TLS to a manager's TCP API, as Docker's CLI takes it:
 * `--tlsverify --tlscacert ca.pem --tlscert cert.pem --tlskey key.pem`, or
 * TSSWARM_TLS_VERIFY and TSSWARM_CERT_PATH (a directory in DOCKER_CERT_PATH's
 * layout: ca.pem, cert.pem, key.pem, as `tsswarm ca client-cert --out` writes).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError } from '../shared/errors';
import { flagString, type Parsed } from '../shared/flags';
import { parseCertificates } from '../shared/pki/certificate';

export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

function read(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`${what} ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** TLS material for a tcp:// host, or null for the unix socket. A tcp:// host without it is an error: the API is TLS only. */
export function clientTls(args: Parsed, host: string, env = process.env): ClientTls | null {
  if (!host.startsWith('tcp://')) return null;
  const dir = env.TSSWARM_CERT_PATH ?? path.join(os.homedir(), '.tsswarm');
  const verify = args.flags.get('tlsverify') === true || (env.TSSWARM_TLS_VERIFY ?? '') !== '' || flagString(args, 'tlscacert') !== null;
  if (!verify) throw new InvalidArgumentError(`${host}: the TCP API is TLS only; add --tlsverify (with --tlscacert/--tlscert/--tlskey, or TSSWARM_CERT_PATH)`);
  const file = (flag: string, name: string) => flagString(args, flag) ?? path.join(dir, name);
  const ca = read(file('tlscacert', 'ca.pem'), '--tlscacert');
  parseCertificates(ca, `--tlscacert ${file('tlscacert', 'ca.pem')}`);
  const cert = read(file('tlscert', 'cert.pem'), '--tlscert');
  parseCertificates(cert, `--tlscert ${file('tlscert', 'cert.pem')}`);
  const key = read(file('tlskey', 'key.pem'), '--tlskey');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new InvalidArgumentError(`--tlskey ${file('tlskey', 'key.pem')}: not a PEM private key`);
  return { ca, cert, key };
}
