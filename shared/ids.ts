import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuv';

/** A random 25-character id (base32 of 125 random bits), the shape Swarm ids have. */
export function newId(): string {
  const bytes = randomBytes(16);
  let out = '';
  for (let i = 0; i < 25; i++) {
    const byte = bytes[i % 16] ?? 0;
    out += ALPHABET[(byte >> (i % 4)) & 31];
  }
  return out;
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}
