/**
 * ADD's local archives. Whether a file is one is decided by its content, never its name, as Docker
 * does it: a gzip, bzip2, xz or zstd signature (or none), then the first 512 bytes of what that
 * decompresses to must be a tar header with a valid checksum (Go's tar reader accepting the first
 * header is BuildKit's test). A file that fails the test is copied as it is, without a word.
 *
 * An archive is unpacked by GNU tar into a fresh, empty temporary directory, never into the rootfs:
 * the image may hold `etc -> /etc`, and tar follows a directory symlink it finds on the disk, so
 * unpacking into the image would write to the host. copy-into.ts then copies the unpacked tree in
 * with the same symlink-safe copy as any other source. Inside the temporary directory GNU tar's own
 * guards hold (members with `..` are refused, a symlink from the archive is not followed by a later
 * member). With `--numeric-owner`, and as root `--same-owner`, owners and modes are the archive's.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { InvalidArgumentError } from '../../../shared/errors';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

const BLOCK = 512;

/** The tool that decompresses each format, and the flag that tells GNU tar to use it. */
const DECOMPRESSORS: Record<Exclude<Compression, 'none' | 'gzip'>, string> = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' };
const TAR_FLAGS: Record<Compression, string[]> = { none: [], gzip: ['--gzip'], bzip2: ['--bzip2'], xz: ['--xz'], zstd: ['--zstd'] };

function compressionOf(head: Buffer): Compression {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b, 0x08)) return 'gzip';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  return 'none';
}

/** Whether a 512-byte block is a tar header: not all zeros, and its checksum adds up (signed or unsigned, as Go allows). */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < BLOCK || block.subarray(0, BLOCK).every((b) => b === 0)) return false;
  const field = block.subarray(148, 156).toString('latin1').replace(/^[ \0]+|[ \0]+$/g, '');
  if (!/^[0-7]*$/.test(field)) return false;
  const want = field === '' ? 0 : parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

async function readHead(file: string, n: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The first `n` bytes `file` decompresses to (fewer when it is shorter, or corrupt past that point). */
function decompressedHead(file: string, compression: Exclude<Compression, 'none'>, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (stop: () => void): void => {
      if (done) return;
      done = true;
      stop();
      resolve(Buffer.concat(chunks).subarray(0, n));
    };
    const take = (stop: () => void) => (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= n) finish(stop);
    };
    if (compression === 'gzip') {
      const input = createReadStream(file);
      const gunzip = createGunzip();
      const stop = (): void => {
        input.destroy();
        gunzip.destroy();
      };
      gunzip.on('data', take(stop));
      gunzip.on('end', () => finish(stop));
      gunzip.on('error', () => finish(stop));
      input.on('error', (e) => {
        if (!done) reject(e);
        done = true;
      });
      input.pipe(gunzip);
      return;
    }
    const tool = DECOMPRESSORS[compression];
    const child = spawn(tool, ['-dc', '--', file], { stdio: ['ignore', 'pipe', 'ignore'] });
    const stop = (): void => {
      child.stdout.destroy();
      child.kill();
    };
    child.stdout.on('data', take(stop));
    child.stdout.on('end', () => finish(stop));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (done) return;
      done = true;
      reject(e.code === 'ENOENT' ? new InvalidArgumentError(`${tool} is not installed: it is needed to read ${compression} archives`) : e);
    });
  });
}

/** The archive's compression when `file` (a regular file) is a tar archive, null when it is not one. */
export async function detectArchive(file: string): Promise<Compression | null> {
  const head = await readHead(file, BLOCK);
  const compression = compressionOf(head);
  const block = compression === 'none' ? head : await decompressedHead(file, compression, BLOCK);
  return isTarHeader(block) ? compression : null;
}

/** Unpacks `file` into `into` (an empty directory) with GNU tar; `name` is what errors call the file. */
export function unpackArchive(file: string, compression: Compression, into: string, name: string): Promise<void> {
  const owners = process.getuid?.() === 0 ? ['--same-owner'] : ['--no-same-owner'];
  const args = ['--extract', '--file', file, '--directory', into, '--numeric-owner', '--preserve-permissions', ...owners, ...TAR_FLAGS[compression]];
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 4096) stderr += s;
    });
    child.on('error', (e) => reject(new InvalidArgumentError(`unpack ${name}: cannot run tar: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const why = stderr.split('\n').filter((l) => l !== '' && !l.includes('Exiting with failure status')).join('; ');
      reject(new InvalidArgumentError(`unpack ${name}: ${why || `tar ${signal ?? `exited with ${code}`}`}`));
    });
  });
}
