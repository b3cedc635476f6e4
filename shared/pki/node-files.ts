/**
 * A host's credentials on disk, in <data-root>/certificates/ (root-only):
 *   ca.pem            the roots it trusts (more than one during a CA rotation)
 *   node.pem/.key     its node certificate (leaf first, then any cross-signed
 *                     root it needs) and key: agent and manager use the same
 *   etcd.pem/.key     managers only: the etcd member's certificate, also the
 *                     manager's client certificate to etcd
 *   external-etcd/    with --etcd-endpoints: the external etcd's ca/cert/key
 * Writes are atomic, so a reader never sees a certificate beside the wrong key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFilesAtomicSync } from '../atomic-write';

export interface CertFiles {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  etcdCert: string;
  etcdKey: string;
  externalEtcd: { ca: string; cert: string; key: string };
}

export function certFiles(dataRoot: string): CertFiles {
  const dir = path.join(dataRoot, 'certificates');
  const ext = path.join(dir, 'external-etcd');
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'node.pem'),
    key: path.join(dir, 'node.key'),
    etcdCert: path.join(dir, 'etcd.pem'),
    etcdKey: path.join(dir, 'etcd.key'),
    externalEtcd: { ca: path.join(ext, 'ca.pem'), cert: path.join(ext, 'cert.pem'), key: path.join(ext, 'key.pem') },
  };
}

/**
 * Writes the files together (shared/atomic-write.ts), secrets 0600; keys are renamed into place
 * before certificates, so a reader that sees a new certificate finds its key.
 */
export function writeFilesAtomic(files: { file: string; data: string; secret?: boolean }[]): void {
  const keysFirst = [...files].sort((a, b) => Number(b.file.endsWith('.key')) - Number(a.file.endsWith('.key')));
  writeFilesAtomicSync(keysFirst.map((f) => ({ file: f.file, data: f.data, mode: f.secret ? 0o600 : 0o644 })));
}

export function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
