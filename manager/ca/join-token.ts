/**
 * Join tokens: `SWMTKN-1-<cluster id>-<secret>`, one per role, as Docker
 * prints them. The secret is what a node proves it knows; the cluster id lets
 * a node refuse to join the wrong cluster. (Certificates come later: today a
 * token admits a node and the node id it registers with identifies it.)
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeRole } from '../../shared/types';

export function newJoinToken(clusterId: string): string {
  return `SWMTKN-1-${clusterId}-${randomBytes(16).toString('hex')}`;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The role a token grants, or null when it is none of the cluster's tokens. */
export function roleForToken(token: string, tokens: { worker: string; manager: string }): NodeRole | null {
  if (same(token, tokens.manager)) return 'manager';
  if (same(token, tokens.worker)) return 'worker';
  return null;
}
