/**
 * Credentials on their way from the CLI to a manager, in Docker's own
 * `X-Registry-Auth` form: base64url of `{"username","password","serveraddress"}`.
 * They travel inside the API's connection (a root-only unix socket, or mutual
 * TLS), for the one request that needs them.
 */
import { InvalidArgumentError } from '../errors';
import type { RegistryCredential } from './auth';

export const REGISTRY_AUTH_HEADER = 'x-registry-auth';

export function encodeRegistryAuth(c: RegistryCredential, serveraddress: string): string {
  return Buffer.from(JSON.stringify({ username: c.username, password: c.password, serveraddress })).toString('base64url');
}

/** The credential in a header value, or null for none (absent, empty, or Docker's `{}`). */
export function decodeRegistryAuth(value: string | string[] | undefined): RegistryCredential | null {
  if (value === undefined || value === '' || Array.isArray(value)) return null;
  let v: unknown;
  try {
    // Docker clients send base64url; some older ones plain base64. Buffer reads both.
    v = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  } catch {
    throw new InvalidArgumentError(`${REGISTRY_AUTH_HEADER}: not base64 of a JSON object`);
  }
  if (typeof v !== 'object' || v === null) throw new InvalidArgumentError(`${REGISTRY_AUTH_HEADER}: not base64 of a JSON object`);
  const { username, password } = v as { username?: unknown; password?: unknown };
  if (username === undefined && password === undefined) return null;
  if (typeof username !== 'string' || typeof password !== 'string' || username === '') {
    throw new InvalidArgumentError(`${REGISTRY_AUTH_HEADER}: username and password must be strings`);
  }
  return { username, password };
}
