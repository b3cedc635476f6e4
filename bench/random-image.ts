/**
 * A ~100 MB multi-layer test image as an OCI layout directory, new bytes every
 * time (so every pull of it is a cold pull): the static busybox as its base
 * layer and LAYERS layers of random data (incompressible, as compressed layers
 * are), gzip'd. For the pull benchmarks, ours and the peer's.
 *   node dist/bench/random-image.js OUTDIR TAG [--mb 100] [--layers 4]
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeBusyboxImage } from '../test/integration/harness/cluster';
import { writeOciLayout } from '../test/integration/harness/oci-images';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

export function randomImage(out: string, tag: string, mb = 100, layers = 4): { digest: string; bytes: number } {
  fs.mkdirSync(out, { recursive: true });
  const work = fs.mkdtempSync(`${out}.work-`);
  try {
    const base = makeBusyboxImage(work);
    const per = Math.floor((mb * 1e6) / layers);
    const tars: string[] = [];
    for (let i = 0; i < layers; i++) {
      const dir = path.join(work, `l${i}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, `data${i}.bin`), randomBytes(per));
      const tar = path.join(work, `l${i}.tar`);
      require('node:child_process').execFileSync('tar', ['--create', '--file', tar, '--directory', dir, '--owner=0', '--group=0', '--numeric-owner', '.']);
      tars.push(tar);
    }
    const built = writeOciLayout(out, tag, [{ architecture: 'amd64', layers: [{ tar: base, compression: 'gzip' }, ...tars.map((tar) => ({ tar, compression: 'gzip' as const }))], cmd: ['sh'] }]);
    const bytes = fs.readdirSync(path.join(out, 'blobs', 'sha256')).reduce((n, f) => n + fs.statSync(path.join(out, 'blobs', 'sha256', f)).size, 0);
    return { digest: built.digest, bytes };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [out, tag] = process.argv.slice(2);
  if (!out || !tag) {
    process.stderr.write('usage: node dist/bench/random-image.js OUTDIR TAG [--mb 100] [--layers 4]\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(randomImage(out, tag, option('mb', 100), option('layers', 4)))}\n`);
}
