/**
 * The cluster's images on the manager's disk, as an OCI image layout:
 *
 *   <dir>/oci-layout            {"imageLayoutVersion":"1.0.0"}
 *   <dir>/blobs/sha256/<hex>    manifests, configs, layers (content-addressed, verified)
 *   <dir>/refs.json             { "busybox:latest": { digest, importedAt, source } }, replaced atomically
 *   <dir>/tmp/                  imports in progress; emptied when the store opens
 *
 * Imports stage and verify every blob under tmp/ first, then commit under the
 * store lock: rename blobs into place, then write refs.json. A crash before the
 * refs write leaves only unreferenced blobs, which the next remove() collects.
 */
import { link as linkFile, mkdir, mkdtemp, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/atomic-write';
import { ImageNotFoundError, InvalidArgumentError, TsswarmError } from '../../shared/errors';
import { canonicalImageRef, formatImageRef, normalizeImageRef, parseImageRef } from '../../shared/image-ref';
import type { ImageSummary } from '../../shared/image-summary';
import { INDEX_TYPES, digestHex, documentMediaType, isDigest, parseImageConfig, parseIndex, parseManifest, pickPlatform, type Descriptor, type ImageConfigJson, type ImageIndex, type ImageManifest } from '../../shared/oci';
import { Singleflight } from '../../shared/singleflight';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { hashFile } from '../../shared/digest-stream';
import { ImageImportError } from './errors';
import { stageDockerSave } from './import-docker-save';
import { stageOciLayout } from './import-oci-layout';
import { stageRootfs } from './import-rootfs';
import type { StagedImage } from './staged-image';
import { listArchive } from './tar-command';
import { pathExists as exists } from '../../shared/path-exists';

export interface ResolvedImage {
  /** Normalised reference that was resolved. */
  ref: string;
  /** Of the document the reference names: an image manifest, or an index of them. */
  digest: string;
  mediaType: string;
  /** The image this host's platform runs: the document itself, or the index's entry for it. */
  manifest: ImageManifest;
  /** For an index: the document, whose entries this store may hold only some of. */
  index: ImageIndex | null;
  /** The document exactly as stored (its sha256 is `digest`). */
  raw: Buffer;
  /** How the ref got here: a pulled tag may have moved upstream since, an imported one is the cluster's own. */
  source: ImageSource;
}

/** Where a ref's image came from: imported here (or built), or pulled from the registry its name points at. */
export type ImageSource = 'import' | 'pull';

interface RefEntry {
  digest: string;
  importedAt: string;
  /** Absent in entries written before pulls: imported. */
  source?: ImageSource;
}

/** How long a pushed blob waits for the manifest that names it before garbage collection may take it. */
const UPLOAD_HOLD_MS = 3600_000;

interface RefsFile {
  version: 1;
  refs: Record<string, RefEntry>;
}

interface ManifestInfo {
  mediaType: string;
  manifest: ImageManifest;
  index: ImageIndex | null;
  raw: Buffer;
  created: string | null;
}

export class ImageStore {
  private readonly blobDir: string;
  private readonly tmpDir: string;
  private readonly refsPath: string;
  private opened: Promise<void> | null = null;
  /** Serialises everything that changes blobs/ or refs.json. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Manifests never change under a digest, so parsed ones are kept. */
  private readonly manifests = new Map<string, ManifestInfo>();
  /** Blobs a pull has put in place before its ref names them: garbage collection leaves them (digest → holders). */
  private readonly pinned = new Map<string, number>();
  private readonly blobFetches = new Singleflight<void>();

  constructor(readonly dir: string) {
    this.blobDir = join(dir, 'blobs', 'sha256');
    this.tmpDir = join(dir, 'tmp');
    this.refsPath = join(dir, 'refs.json');
  }

  /** Imports a rootfs tar, a `docker save` archive or an OCI layout archive as `ref`. All or nothing. */
  async importArchive(file: string, ref: string): Promise<ImageSummary> {
    try {
      return await this.importStaged(ref, (staging, target) => this.stage(file, staging, target));
    } catch (e) {
      if (e instanceof ImageImportError || e instanceof InvalidArgumentError) throw e;
      throw new ImageImportError(`cannot import ${file}: ${oneLine(e)}`, file, { cause: e });
    }
  }

  /**
   * Imports what `stage` writes into a staging directory (an archive's
   * contents, or blobs fetched from another manager's registry) as `ref`.
   * All or nothing.
   */
  async importStaged(ref: string, stage: (staging: string, target: string) => Promise<StagedImage>, source: ImageSource = 'import'): Promise<ImageSummary> {
    const target = normalizeImageRef(ref);
    const wanted = parseImageRef(target).digest;
    await this.open();
    const staging = await mkdtemp(join(this.tmpDir, 'import-'));
    try {
      const staged = await stage(staging, target);
      // A digest names content: only that content may be stored under it.
      if (wanted !== null && staged.manifestDigest !== wanted) throw new InvalidArgumentError(`cannot store ${ref}: the content has digest ${staged.manifestDigest}`);
      return await this.locked(() => this.commit(target, staged, source));
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async list(): Promise<ImageSummary[]> {
    await this.open();
    const refs = (await this.readRefs()).refs;
    const out: ImageSummary[] = [];
    for (const ref of Object.keys(refs).sort()) {
      const entry = refs[ref];
      if (entry) out.push(await this.summary(ref, entry.digest));
    }
    return out;
  }

  /** `name:tag`, `name` (= `:latest`) or `name@sha256:…` (only a digest some tag of that name points at). */
  async resolve(ref: string): Promise<ResolvedImage | null> {
    await this.open();
    const parsed = canonicalImageRef(ref);
    const refs = (await this.readRefs()).refs;
    let digest: string | null = null;
    let source: ImageSource = 'import';
    if (parsed.digest !== null) {
      for (const [r, e] of Object.entries(refs)) {
        if (parseImageRef(r).name !== parsed.name) continue;
        source = e.source ?? 'import';
        if (e.digest === parsed.digest) digest = parsed.digest;
        // One platform's manifest of an index the name points at, when this store holds it.
        else if ((await this.manifestInfo(e.digest)).index?.manifests.some((m) => m.digest === parsed.digest) && (await this.hasManifest(parsed.digest))) digest = parsed.digest;
        if (digest !== null) break;
      }
    } else {
      const entry = refs[formatImageRef(parsed)];
      digest = entry?.digest ?? null;
      source = entry?.source ?? 'import';
    }
    if (digest === null) return null;
    const info = await this.manifestInfo(digest);
    return { ref: formatImageRef(parsed), digest, mediaType: info.mediaType, manifest: info.manifest, index: info.index, raw: info.raw, source };
  }

  /**
   * Puts one blob in place (blobs/), fetched by `fetchTo` into a file that it verifies, unless the
   * store has it; concurrent calls for a digest share one fetch. The blob stays pinned (garbage
   * collection leaves it) until `release` is called, so a pull can fetch its layers before it commits.
   */
  async ensureBlob(d: Descriptor, fetchTo: (file: string, signal: AbortSignal) => Promise<void>, signal?: AbortSignal): Promise<{ fetched: boolean; release: () => void }> {
    await this.open();
    this.pin(d.digest);
    let released = false;
    const release = () => {
      if (!released) this.unpin(d.digest);
      released = true;
    };
    try {
      if (await this.blobInfo(d.digest)) return { fetched: false, release };
      await this.blobFetches.run(d.digest, signal, async (s) => {
        if (await this.blobInfo(d.digest)) return;
        const file = join(this.tmpDir, `blob-${randomBytes(8).toString('hex')}`);
        try {
          await fetchTo(file, s);
          await fsyncFile(file);
          await rename(file, join(this.blobDir, digestHex(d.digest)));
        } finally {
          await rm(file, { force: true });
        }
      });
      return { fetched: true, release };
    } catch (e) {
      release();
      throw e;
    }
  }

  // --- uploads (pushes to the cluster registry) ------------------------------

  /** Starts a blob upload; its bytes go to tmp/ until `finishUpload` checks them. */
  async startUpload(): Promise<string> {
    await this.open();
    const id = randomBytes(16).toString('hex');
    await writeFile(this.uploadPath(id), '', { flag: 'wx' });
    return id;
  }

  /** Bytes of an upload so far; null for an id that is not one. */
  async uploadSize(id: string): Promise<number | null> {
    if (!/^[a-f0-9]{32}$/.test(id)) return null;
    try {
      return (await stat(this.uploadPath(id))).size;
    } catch {
      return null;
    }
  }

  /** Adds what `body` carries to an upload's bytes. */
  async appendUpload(id: string, body: NodeJS.ReadableStream): Promise<void> {
    await pipeline(body, createWriteStream(this.uploadPath(id), { flags: 'a' }));
  }

  private uploadPath(id: string): string {
    return join(this.tmpDir, `upload-${id}`);
  }

  /**
   * Ends an upload: its bytes must hash to `digest`; then the blob is in place, held against
   * garbage collection for an hour so the manifest that names it can follow.
   */
  async finishUpload(id: string, digest: string): Promise<boolean> {
    const file = this.uploadPath(id);
    try {
      if (`sha256:${(await hashFile(file)).hash.digest('hex')}` !== digest) return false;
      const target = join(this.blobDir, digestHex(digest));
      this.pin(digest);
      setTimeout(() => this.unpin(digest), UPLOAD_HOLD_MS).unref();
      if (!(await exists(target))) {
        await fsyncFile(file);
        await rename(file, target);
      }
      return true;
    } finally {
      await rm(file, { force: true });
    }
  }

  async cancelUpload(id: string): Promise<void> {
    await rm(this.uploadPath(id), { force: true });
  }

  private pin(digest: string): void {
    this.pinned.set(digest, (this.pinned.get(digest) ?? 0) + 1);
  }

  private unpin(digest: string): void {
    const n = (this.pinned.get(digest) ?? 1) - 1;
    if (n <= 0) this.pinned.delete(digest);
    else this.pinned.set(digest, n);
  }

  /**
   * Every blob a stored document reaches that this store holds: the document, and its config and
   * layers; for an index, those of each entry it holds (an index keeps the platforms' images here).
   */
  private async imageBlobs(digest: string): Promise<string[]> {
    const info = await this.manifestInfo(digest);
    const out = [digest];
    const entries = info.index ? info.index.manifests.map((d) => d.digest) : [];
    const manifests = info.index ? [] : [info.manifest];
    for (const d of entries) {
      if (!(await this.hasManifest(d))) continue;
      out.push(d);
      manifests.push((await this.manifestInfo(d)).manifest);
    }
    for (const m of manifests) out.push(m.config.digest, ...m.layers.map((l) => l.digest));
    return out;
  }

  private async hasManifest(digest: string): Promise<boolean> {
    if (this.manifests.has(digest)) return true;
    if (!(await this.blobInfo(digest))) return false;
    try {
      await this.manifestInfo(digest);
      return true;
    } catch {
      return false;
    }
  }

  /** `target` names what `source` names (Docker's `image tag`); a tag of the cluster's own, never asked of a registry. */
  async tag(source: string, target: string): Promise<ImageSummary> {
    await this.open();
    const to = canonicalImageRef(target);
    if (to.digest !== null) throw new InvalidArgumentError(`cannot tag as ${target}: a tag cannot hold a digest`);
    const found = await this.resolve(source);
    if (!found) throw new ImageNotFoundError(`image ${source} not found`);
    const name = formatImageRef(to);
    return this.locked(async () => {
      const file = await this.readRefs();
      setRef(file, name, { digest: found.digest, importedAt: new Date().toISOString(), source: 'import' });
      await this.writeRefs(file);
      return this.summary(name, found.digest);
    });
  }

  /**
   * Writes `refs` into `dir` as one archive's contents, both layouts Docker 25 writes: an OCI
   * image layout (index.json naming each ref, blobs/sha256/…) and docker save's manifest.json
   * pointing into the same blobs, so `docker load`, skopeo (oci-archive:) and `tsswarm image
   * import` all read it. Blobs are hard links into the store (dir is on its filesystem: tmp/).
   */
  async saveTo(refs: string[], dir: string): Promise<void> {
    await this.open();
    const blobs = join(dir, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const linked = new Set<string>();
    const link = async (digest: string) => {
      if (linked.has(digest)) return;
      linked.add(digest);
      await linkFile(join(this.blobDir, digestHex(digest)), join(blobs, digestHex(digest)));
    };
    const index: Array<Record<string, unknown>> = [];
    const docker: Array<Record<string, unknown>> = [];
    for (const ref of refs) {
      const found = await this.resolve(ref);
      if (!found) throw new ImageNotFoundError(`image ${ref} not found`);
      for (const d of await this.imageBlobs(found.digest)) await link(d);
      const p = parseImageRef(found.ref);
      index.push({
        mediaType: found.mediaType,
        digest: found.digest,
        size: found.raw.length,
        annotations: { 'io.containerd.image.name': found.ref, 'org.opencontainers.image.ref.name': p.tag ?? found.digest },
      });
      docker.push({
        Config: `blobs/sha256/${digestHex(found.manifest.config.digest)}`,
        RepoTags: p.tag !== null ? [found.ref] : [],
        Layers: found.manifest.layers.map((l) => `blobs/sha256/${digestHex(l.digest)}`),
      });
    }
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index }));
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(docker));
  }

  /** A staging directory of this store's (for saveTo), removed by the caller. */
  async scratchDir(): Promise<string> {
    await this.open();
    return mkdtemp(join(this.tmpDir, 'save-'));
  }

  /** A resolved image's config (`docker image inspect`'s Config and history), for this host's platform. */
  async config(found: ResolvedImage): Promise<ImageConfigJson> {
    return parseImageConfig(await readFile(join(this.blobDir, digestHex(found.manifest.config.digest))));
  }

  /** The refs `ref` names: itself, or for `name@digest` every ref of that name on that digest. */
  async refsOf(ref: string): Promise<string[]> {
    await this.open();
    return matchingRefs(await this.readRefs(), ref);
  }

  /** Removes a tag (or, for `name@digest`, every tag of that name on that digest) and the blobs nothing else uses. */
  async remove(ref: string): Promise<void> {
    await this.open();
    await this.locked(async () => {
      const file = await this.readRefs();
      const doomed = matchingRefs(file, ref);
      if (doomed.length === 0) throw new ImageNotFoundError(`image ${ref} not found`);
      for (const r of doomed) delete file.refs[r];
      await this.writeRefs(file);
      await this.collectGarbage(file);
    });
  }

  /** Removes exactly these refs (those it has), then the blobs nothing else uses; returns the refs removed. */
  async removeRefs(refs: string[]): Promise<string[]> {
    await this.open();
    return this.locked(async () => {
      const file = await this.readRefs();
      const gone = refs.filter((r) => file.refs[r] !== undefined);
      if (gone.length === 0) return [];
      for (const r of gone) delete file.refs[r];
      await this.writeRefs(file);
      await this.collectGarbage(file);
      return gone;
    });
  }

  /** Where a blob lives, for serving it; null when the store does not have it. */
  async blobInfo(digest: string): Promise<{ path: string; size: number } | null> {
    if (!isDigest(digest)) return null;
    await this.open();
    const path = join(this.blobDir, digestHex(digest));
    try {
      const st = await stat(path);
      return st.isFile() ? { path, size: st.size } : null;
    } catch {
      return null;
    }
  }

  // --- internals -----------------------------------------------------------

  private open(): Promise<void> {
    this.opened ??= (async () => {
      await mkdir(this.blobDir, { recursive: true });
      // Leftovers of imports cut short by a crash; imports of a running store live here too,
      // so this runs once, before any import of this process starts.
      await rm(this.tmpDir, { recursive: true, force: true });
      await mkdir(this.tmpDir, { recursive: true });
      await writeFile(join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    })();
    return this.opened;
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async stage(file: string, staging: string, ref: string): Promise<StagedImage> {
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a regular file');
    } catch (e) {
      throw new ImageImportError(`cannot import ${file}: ${oneLine(e)}`, file, { cause: e });
    }
    let names: string[];
    try {
      names = await listArchive(file);
    } catch (e) {
      throw new ImageImportError(`cannot import ${file}: not a readable tar archive (${oneLine(e)})`, file, { cause: e });
    }
    if (names.length === 0) throw new ImageImportError(`cannot import ${file}: the archive is empty`, file);
    const top = new Set(names.map((n) => n.replace(/\/+$/, '')));
    // Docker 25+ writes both manifest.json and an OCI layout; manifest.json is the simpler path.
    if (top.has('manifest.json')) return stageDockerSave(file, staging, ref);
    if (top.has('oci-layout') && top.has('index.json')) return stageOciLayout(file, staging, ref);
    return stageRootfs(file, staging);
  }

  private async commit(ref: string, staged: StagedImage, source: ImageSource): Promise<ImageSummary> {
    try {
      for (const blob of staged.blobs) {
        const target = join(this.blobDir, digestHex(blob.digest));
        if (await exists(target)) continue; // content-addressed: the same bytes are already there
        await fsyncFile(blob.path);
        await rename(blob.path, target);
      }
      await fsyncFile(this.blobDir); // the renames are durable before refs.json names the blobs
      const file = await this.readRefs();
      setRef(file, ref, { digest: staged.manifestDigest, importedAt: new Date().toISOString(), source });
      await this.writeRefs(file);
      await this.collectGarbage(file);
      return await this.summary(ref, staged.manifestDigest);
    } catch (e) {
      // Disk full or similar half way through: take back the blobs this import moved in.
      await this.readRefs().then((f) => this.collectGarbage(f)).catch(() => undefined);
      throw e;
    }
  }

  /** Deletes blobs no ref reaches. Runs under the lock, so no import is between rename and refs write. */
  private async collectGarbage(file: RefsFile): Promise<void> {
    const live = new Set<string>([...this.pinned.keys()].map(digestHex));
    for (const { digest } of Object.values(file.refs)) for (const d of await this.imageBlobs(digest)) live.add(digestHex(d));
    for (const name of await readdir(this.blobDir)) {
      if (!live.has(name)) {
        await rm(join(this.blobDir, name), { force: true });
        this.manifests.delete(`sha256:${name}`);
      }
    }
  }

  private async readRefs(): Promise<RefsFile> {
    let text: string;
    try {
      text = await readFile(this.refsPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, refs: {} };
      throw e;
    }
    const v = JSON.parse(text) as Partial<RefsFile>;
    if (v.version !== 1 || typeof v.refs !== 'object' || v.refs === null) throw new Error(`${this.refsPath}: unknown format`);
    // Stores written before names took Docker's familiar form may say docker.io/library/x.
    const refs: Record<string, RefEntry> = {};
    for (const [r, e] of Object.entries(v.refs)) refs[normalizeImageRef(r)] = e;
    return { version: 1, refs };
  }

  private writeRefs(file: RefsFile): Promise<void> {
    return writeFileAtomic(this.refsPath, JSON.stringify(file, null, 2) + '\n');
  }

  private async manifestInfo(digest: string): Promise<ManifestInfo> {
    const cached = this.manifests.get(digest);
    if (cached) return cached;
    const raw = await readFile(join(this.blobDir, digestHex(digest)));
    const mediaType = documentMediaType(raw);
    let info: ManifestInfo;
    if (INDEX_TYPES.includes(mediaType)) {
      const index = parseIndex(raw, mediaType);
      const mine = pickPlatform(index);
      if (!mine || !(await this.blobInfo(mine.digest))) throw new ImageNotFoundError(`image index ${digest} has no image for this host's platform in the store`);
      const child = await this.manifestInfo(mine.digest);
      info = { mediaType, manifest: child.manifest, index, raw, created: child.created };
    } else {
      const manifest = parseManifest(raw, mediaType);
      const config = parseImageConfig(await readFile(join(this.blobDir, digestHex(manifest.config.digest))));
      info = { mediaType, manifest, index: null, raw, created: config.created ?? null };
    }
    this.manifests.set(digest, info);
    return info;
  }

  private async summary(ref: string, digest: string): Promise<ImageSummary> {
    const { manifest, created } = await this.manifestInfo(digest);
    const size = manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
    return { ref, digest, size, layers: manifest.layers.length, created };
  }
}

function oneLine(e: unknown): string {
  const msg = e instanceof TsswarmError || e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? msg;
}


async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Points `ref` at `entry`. A tag that moves leaves its old image under name@digest (Docker's
 * dangling image): services pinned to that digest still run it on nodes that join later; `image rm` takes it.
 */
function setRef(file: RefsFile, ref: string, entry: RefEntry): void {
  const before = file.refs[ref];
  if (before && before.digest !== entry.digest) file.refs[`${parseImageRef(ref).name}@${before.digest}`] ??= before;
  file.refs[ref] = entry;
}

/** The refs `ref` names: itself, or for `name@digest` every ref of that name on that digest. */
function matchingRefs(file: RefsFile, ref: string): string[] {
  const parsed = canonicalImageRef(ref);
  return Object.entries(file.refs)
    .filter(([r, e]) => (parsed.digest !== null ? e.digest === parsed.digest && parseImageRef(r).name === parsed.name : r === formatImageRef(parsed)))
    .map(([r]) => r);
}
