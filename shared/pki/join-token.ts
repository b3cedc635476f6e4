/**
 * Join tokens: `SWMTKN-1-<root CA digest>-<secret>`, as Docker prints them.
 * The digest lets a joining host check the manager's CA before it sends
 * anything (a manager of another cluster, or a stranger in the middle, is
 * refused); the secret is what it then proves it knows, over TLS pinned to
 * that CA.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors';

const TOKEN = /^SWMTKN-1-([0-9a-z]{50})-([0-9a-z]{25})$/;

export interface JoinToken {
  caDigest: string;
  secret: string;
}

export function parseJoinToken(token: string): JoinToken {
  const m = TOKEN.exec(token.trim());
  if (!m) throw new InvalidArgumentError('invalid join token (expected SWMTKN-1-<50 characters>-<25 characters>; tsswarm join-token worker prints it)');
  return { caDigest: m[1]!, secret: m[2]! };
}

/** A new token for the root whose digest is given: 128 random bits in base 36. */
export function newJoinToken(caDigest: string): string {
  const secret = BigInt(`0x${randomBytes(16).toString('hex')}`).toString(36).padStart(25, '0').slice(-25);
  return `SWMTKN-1-${caDigest}-${secret}`;
}
