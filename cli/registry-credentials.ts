/**
 * The credentials `tsswarm login` keeps for the CLI's user, in Docker's
 * config.json shape (`{"auths": {"<registry>": {"auth": base64(user:password)}}}`)
 * at `$TSSWARM_CONFIG/config.json` (default `~/.tsswarm`): a file only its owner
 * can read, written whole (a crash leaves the old one or the new one).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../shared/atomic-write';
import type { RegistryCredential } from '../shared/registry/auth';
import { canonicalImageRef, registryOf } from '../shared/image-ref';

interface ConfigFile {
  auths?: Record<string, { auth?: string }>;
  [other: string]: unknown;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env['TSSWARM_CONFIG'] ?? path.join(os.homedir(), '.tsswarm'), 'config.json');
}

function read(file: string): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  const v = JSON.parse(text) as unknown;
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as ConfigFile) : {};
}

export function credentialFor(registry: string, file = configPath()): RegistryCredential | null {
  const auth = read(file).auths?.[registry]?.auth;
  if (!auth) return null;
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon > 0 ? { username: text.slice(0, colon), password: text.slice(colon + 1) } : null;
}

export async function storeCredential(registry: string, c: RegistryCredential, file = configPath()): Promise<void> {
  const cfg = read(file);
  cfg.auths = { ...cfg.auths, [registry]: { auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') } };
  await write(file, cfg);
}

/** False when there was nothing to remove. */
export async function removeCredential(registry: string, file = configPath()): Promise<boolean> {
  const cfg = read(file);
  if (!cfg.auths?.[registry]) return false;
  delete cfg.auths[registry];
  await write(file, cfg);
  return true;
}

async function write(file: string, cfg: ConfigFile): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(cfg, null, 2)}\n`, 0o600);
}

/** The credentials `login` kept for the registries of these images, for a request that may pull them. */
export function credentialsForImages(images: readonly string[], file = configPath()): import('../shared/api-types').RegistryAuthMap {
  const out: import('../shared/api-types').RegistryAuthMap = {};
  for (const image of images) {
    let registry: string;
    try {
      registry = registryOf(canonicalImageRef(image).name).registry;
    } catch {
      continue; // the manager says what is wrong with the reference
    }
    const c = credentialFor(registry, file);
    if (c) out[registry] = c;
  }
  return out;
}
