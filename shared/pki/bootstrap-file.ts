/**
 * What `tsswarm init` leaves for the first start of the cluster's first
 * manager (in <data-root>/certificates/bootstrap.json, root-only): the root
 * key it made the host's certificates with, the cluster id they name, and
 * the settings given to init. The manager moves the key into the store,
 * sealed under the data key, and deletes the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readIfExists, writeFilesAtomic } from './node-files';

export interface BootstrapFile {
  clusterId: string;
  rootKeyPem: string;
  certExpiryMs: number;
  autolock: boolean;
}

const NAME = 'bootstrap.json';

export function writeBootstrap(certDir: string, b: BootstrapFile): void {
  writeFilesAtomic([{ file: path.join(certDir, NAME), data: `${JSON.stringify(b)}\n`, secret: true }]);
}

export function readBootstrap(certDir: string): BootstrapFile | null {
  const t = readIfExists(path.join(certDir, NAME));
  return t ? (JSON.parse(t) as BootstrapFile) : null;
}

export function removeBootstrap(certDir: string): void {
  fs.rmSync(path.join(certDir, NAME), { force: true });
}
