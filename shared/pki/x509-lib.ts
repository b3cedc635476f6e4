/**
 * The X.509 library, loaded on first use: @peculiar/x509 builds certificates
 * and CSRs on WebCrypto (ECDSA P-256) without hand-written ASN.1. It needs the
 * reflect-metadata polyfill (its tsyringe registry), and costs ~100 ms to load,
 * so commands that never issue a certificate never load it.
 */
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

let lib: typeof X509 | null = null;

export function x509(): typeof X509 {
  if (lib) return lib;
  require('reflect-metadata');
  const loaded = require('@peculiar/x509') as typeof X509;
  loaded.cryptoProvider.set(webcrypto as unknown as Parameters<typeof loaded.cryptoProvider.set>[0]);
  lib = loaded;
  return loaded;
}

/** ECDSA P-256 with SHA-256: the algorithm of every key and signature the cluster makes. */
export const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
