/**
 * The extended attributes a layer build needs from an upper directory, read with
 * one `getfattr -R` (Debian `attr`) per layer: Node has no xattr API and the
 * project has no addon call for it outside agent/runtime. Only names that matter
 * are asked for: `security.capability` (carried into the layer) and the overlayfs
 * marks that change what an entry means (`trusted.overlay.opaque`, `.redirect`,
 * `.metacopy`). Values are raw bytes (getfattr prints them in base64).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { XattrReadError } from './layer-errors';

export const CAPABILITY_XATTR = 'security.capability';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';
export const REDIRECT_XATTR = 'trusted.overlay.redirect';
export const METACOPY_XATTR = 'trusted.overlay.metacopy';

const FILE_HEADER = Buffer.from('# file: ');
const WANTED = /^(security\.capability|trusted\.overlay\.(opaque|redirect|metacopy))$/;

/** Relative path ('' for the root itself) → xattr name → value. Paths without any wanted xattr are absent. */
export type XattrMap = Map<string, Map<string, Buffer>>;

export async function readUpperXattrs(dir: string, signal?: AbortSignal): Promise<XattrMap> {
  const root = resolve(dir);
  // -h: a symlink's own xattrs, never its target's (a link to a capable file would inherit them);
  // -P: do not walk into symlinked directories.
  const args = ['--recursive', '--physical', '--no-dereference', '--absolute-names', '--dump', '--encoding=base64', `--match=${WANTED.source}`, '--', root];
  const out = await capture('getfattr', args, signal);
  return parseGetfattrDump(out, root);
}

/**
 * Parses `getfattr --dump --encoding=base64 --absolute-names` output for files at or below `root`.
 * getfattr writes a newline or backslash in a name as a `\ooo` octal escape and other bytes as
 * they are, so lines split safely on newlines and names are unescaped byte by byte.
 */
export function parseGetfattrDump(out: Buffer, root: string): XattrMap {
  const map: XattrMap = new Map();
  const rootBytes = Buffer.from(root);
  let current: Map<string, Buffer> | null = null;
  let start = 0;
  while (start < out.length) {
    let end = out.indexOf(0x0a, start);
    if (end < 0) end = out.length;
    const line = out.subarray(start, end);
    start = end + 1;
    if (line.length === 0) {
      current = null;
      continue;
    }
    if (line.subarray(0, FILE_HEADER.length).equals(FILE_HEADER)) {
      const path = unescapeOctal(line.subarray(FILE_HEADER.length));
      const rel = relativeTo(rootBytes, path);
      if (rel === null) throw new XattrReadError(`getfattr listed ${path.toString()}, which is not under ${root}`);
      current = new Map();
      map.set(rel, current);
      continue;
    }
    if (current === null) throw new XattrReadError(`unexpected getfattr output: ${line.toString().slice(0, 80)}`);
    const eq = line.indexOf(0x3d);
    const name = unescapeOctal(eq < 0 ? line : line.subarray(0, eq)).toString();
    const value = eq < 0 ? '' : line.subarray(eq + 1).toString();
    current.set(name, decodeValue(value, name));
  }
  for (const [rel, attrs] of map) if (attrs.size === 0) map.delete(rel);
  return map;
}

function relativeTo(root: Buffer, path: Buffer): string | null {
  if (path.equals(root)) return '';
  if (path.length <= root.length + 1 || !path.subarray(0, root.length).equals(root) || path[root.length] !== 0x2f) return null;
  return path.subarray(root.length + 1).toString();
}

/** `0s<base64>` is what --encoding=base64 prints (`0s` alone for an empty value); hex and text are accepted too. */
function decodeValue(value: string, name: string): Buffer {
  if (value.startsWith('0s')) return Buffer.from(value.slice(2), 'base64');
  if (value.startsWith('0x')) return Buffer.from(value.slice(2), 'hex');
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) return unescapeOctal(Buffer.from(value.slice(1, -1)));
  if (value === '') return Buffer.alloc(0);
  throw new XattrReadError(`cannot read getfattr's value for ${name}: ${value.slice(0, 40)}`);
}

function unescapeOctal(bytes: Buffer): Buffer {
  if (!bytes.includes(0x5c)) return bytes;
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    const digits = bytes.subarray(i + 1, i + 4).toString();
    if (b === 0x5c && /^[0-7]{3}$/.test(digits)) {
      out.push(parseInt(digits, 8));
      i += 3;
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out);
}

/** Runs `command`, returning its stdout; a failure is one line: the first line of its stderr. */
function capture(command: string, args: readonly string[], signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new XattrReadError(`${command} not found: run scripts/setup.sh to install it (Debian package attr)`));
      else reject(e);
    });
    child.on('close', (code) => {
      if (code === 0) return resolvePromise(Buffer.concat(out));
      const first = Buffer.concat(err).toString().split('\n').find((l) => l.trim() !== '') ?? `exited with ${code}`;
      reject(new XattrReadError(`${command}: ${first.replace(new RegExp(`^${command}: `), '')}`));
    });
  });
}
