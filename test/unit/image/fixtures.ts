/**
 * Test images built on the spot: the busybox script's output, and small
 * hand-made `docker save` and OCI layout archives (GNU tar does the packing).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** The project root: the first ancestor of this (compiled) file with tsswarm's package.json. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tsswarm') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the tsswarm project root');
    dir = up;
  }
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tsswarm-${prefix}-`));
}

export function removeDir(dir: string | null | undefined): Promise<void> {
  return dir ? rm(dir, { recursive: true, force: true }) : Promise.resolve();
}

/** Runs scripts/make-busybox-image.sh. */
export function makeBusyboxImage(out: string, dockerSaveRef: string | null = null): void {
  const args = [join(projectRoot(), 'scripts', 'make-busybox-image.sh'), out];
  if (dockerSaveRef !== null) args.push('--docker-save', dockerSaveRef);
  execFileSync('bash', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

export function sha256(data: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Tars a directory reproducibly (sorted, fixed mtime, owner 0), optionally gzipped. */
export function tarDirectory(dir: string, out: string, gzip = false): void {
  const args = ['--create', '--file', out, '--directory', dir, '--sort=name', '--format=gnu', '--mtime=@946684800', '--owner=0', '--group=0', '--numeric-owner'];
  if (gzip) args.push('--gzip');
  args.push('.');
  execFileSync('tar', args);
}

/** Writes `files` (path → content; a path ending in `/` is a directory) under a fresh directory and tars it. */
export async function makeLayer(out: string, files: Record<string, string>, gzip = false): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsswarm-layer-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      if (path.endsWith('/')) {
        await mkdir(join(dir, path), { recursive: true });
      } else {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), content);
      }
    }
    tarDirectory(dir, out, gzip);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function diffIdOf(layer: Buffer): string {
  return sha256(layer[0] === 0x1f && layer[1] === 0x8b ? gunzipSync(layer) : layer);
}

export interface ArchiveSpec {
  /** Layer tar files (plain or gzip), bottom first. */
  layers: string[];
  repoTag: string;
  cmd?: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
}

function configFor(spec: ArchiveSpec, diffIds: string[]): Buffer {
  const config: Record<string, unknown> = { Cmd: spec.cmd ?? ['sh'] };
  if (spec.entrypoint) config['Entrypoint'] = spec.entrypoint;
  if (spec.env) config['Env'] = spec.env;
  if (spec.workingDir) config['WorkingDir'] = spec.workingDir;
  if (spec.user) config['User'] = spec.user;
  return Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2000-01-01T00:00:00Z', config, rootfs: { type: 'layers', diff_ids: diffIds } }),
  );
}

/** A `docker save` archive (the classic layout: <id>/layer.tar, <config hex>.json, manifest.json). */
export async function makeDockerSave(out: string, spec: ArchiveSpec): Promise<{ configDigest: string; diffIds: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'tsswarm-save-'));
  try {
    const diffIds: string[] = [];
    const layerPaths: string[] = [];
    for (const [i, layer] of spec.layers.entries()) {
      const data = await readFile(layer);
      diffIds.push(diffIdOf(data));
      const id = `${String(i).padStart(2, '0')}${sha256(data).slice(7, 69)}`;
      await mkdir(join(dir, id));
      await copyFile(layer, join(dir, id, 'layer.tar'));
      layerPaths.push(`${id}/layer.tar`);
    }
    const config = configFor(spec, diffIds);
    const configDigest = sha256(config);
    await writeFile(join(dir, `${configDigest.slice(7)}.json`), config);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify([{ Config: `${configDigest.slice(7)}.json`, RepoTags: [spec.repoTag], Layers: layerPaths }]));
    tarDirectory(dir, out);
    return { configDigest, diffIds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An OCI image-layout archive with one manifest named by the ref.name annotation. */
export async function makeOciLayout(out: string, spec: ArchiveSpec): Promise<{ manifestDigest: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tsswarm-oci-'));
  try {
    const blobs = join(dir, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const put = async (data: Buffer): Promise<string> => {
      const d = sha256(data);
      await writeFile(join(blobs, d.slice(7)), data);
      return d;
    };
    const layers = [];
    const diffIds = [];
    for (const layer of spec.layers) {
      const data = await readFile(layer);
      const gz = data[0] === 0x1f && data[1] === 0x8b;
      diffIds.push(diffIdOf(data));
      layers.push({
        mediaType: gz ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
        digest: await put(data),
        size: data.length,
      });
    }
    const config = configFor(spec, diffIds);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await put(config), size: config.length },
        layers,
      }),
    );
    const manifestDigest = await put(manifest);
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(
      join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: manifestDigest,
            size: manifest.length,
            annotations: { 'org.opencontainers.image.ref.name': spec.repoTag.split(':').pop() ?? 'latest' },
          },
        ],
      }),
    );
    tarDirectory(dir, out);
    return { manifestDigest };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
