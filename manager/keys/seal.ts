/**
 * Values encrypted at rest in etcd: AES-256-GCM under the cluster's data
 * key (DEK), a fresh 96-bit nonce per value, and the etcd key the value is
 * stored under as associated data, so a sealed value moved to another key
 * does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { TsswarmError } from '../../shared/errors';

export interface Sealed {
  alg: 'A256GCM';
  nonce: string;
  /** Ciphertext with the 16-byte tag appended, base64. */
  data: string;
}

export class SealError extends TsswarmError {
  readonly code = 'SEAL_FAILED';
  override readonly status = 500;
}

export function seal(dek: Buffer, aad: string, plain: Buffer | string): Sealed {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', dek, nonce);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(typeof plain === 'string' ? Buffer.from(plain) : plain), c.final(), c.getAuthTag()]);
  return { alg: 'A256GCM', nonce: nonce.toString('base64'), data: body.toString('base64') };
}

export function open(dek: Buffer, aad: string, s: Sealed): Buffer {
  if (s?.alg !== 'A256GCM') throw new SealError(`sealed value under ${aad}: unknown algorithm ${String(s?.alg)}`);
  const body = Buffer.from(s.data, 'base64');
  const d = createDecipheriv('aes-256-gcm', dek, Buffer.from(s.nonce, 'base64'));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(body.subarray(body.length - 16));
  try {
    return Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
  } catch {
    throw new SealError(`sealed value under ${aad} does not open with this cluster's data key`);
  }
}
