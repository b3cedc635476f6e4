/**
 * Test images as OCI image-layout directories, for a real client (skopeo) to push into a real
 * registry: layers from tar files (gzip, zstd or plain), one image per platform, and an index
 * over them when there are several (a manifest list). Built by hand so a test controls each byte.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface TestImage {
  architecture: string;
  /** Tar files, bottom first, and how each is compressed in the image. */
  layers: Array<{ tar: string; compression: 'gzip' | 'zstd' | 'none' }>;
  cmd: string[];
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const LAYER_TYPES = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

/**
 * Writes `dir` as an OCI layout whose index.json names `tag`: one image, or (several) an index
 * of them. Returns the digest of what the tag names and every blob digest of each image.
 */
export function writeOciLayout(dir: string, tag: string, images: TestImage[]): { digest: string; images: Array<{ manifest: string; layers: string[] }> } {
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const d = sha(b);
    fs.writeFileSync(path.join(blobs, d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const out: Array<{ manifest: string; layers: string[]; descriptor: Record<string, unknown> }> = [];
  for (const img of images) {
    const layers: Array<Record<string, unknown>> = [];
    const diffIds: string[] = [];
    for (const l of img.layers) {
      const tar = fs.readFileSync(l.tar);
      diffIds.push(sha(tar));
      const data = l.compression === 'gzip' ? gzipSync(tar) : l.compression === 'zstd' ? execFileSync('zstd', ['-q', '-c', l.tar]) : tar;
      layers.push({ mediaType: LAYER_TYPES[l.compression], ...put(data) });
    }
    const config = Buffer.from(JSON.stringify({ architecture: img.architecture, os: 'linux', created: '2000-01-01T00:00:00Z', config: { Cmd: img.cmd }, rootfs: { type: 'layers', diff_ids: diffIds } }));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) }, layers }));
    const m = put(manifest);
    out.push({
      manifest: m.digest,
      layers: layers.map((l) => l['digest'] as string),
      descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, platform: { architecture: img.architecture, os: 'linux' } },
    });
  }
  let top: Record<string, unknown>;
  let digest: string;
  if (out.length === 1) {
    top = { ...out[0]!.descriptor };
    delete top['platform'];
    digest = out[0]!.manifest;
  } else {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: out.map((o) => o.descriptor) }));
    const i = put(index);
    top = { mediaType: 'application/vnd.oci.image.index.v1+json', ...i };
    digest = i.digest;
  }
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }] }));
  return { digest, images: out.map(({ manifest, layers }) => ({ manifest, layers })) };
}

/** A tar of `files` (path → content) with fixed owners and times, so its digest is stable. */
export function tarOf(out: string, files: Record<string, string>): string {
  const dir = fs.mkdtempSync(`${out}.d-`);
  try {
    for (const [p, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      fs.writeFileSync(path.join(dir, p), content);
    }
    execFileSync('tar', ['--create', '--file', out, '--directory', dir, '--sort=name', '--mtime=2000-01-01', '--owner=0', '--group=0', '--numeric-owner', '.']);
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
