/**
 * `tsswarm login [REGISTRY] [-u USER] [--password-stdin]` and `logout [REGISTRY]`,
 * as Docker's: the manager checks the credentials against the registry (it is
 * the one that pulls, with the cluster's TLS and insecure-registry settings),
 * then the CLI keeps them for its user (cli/registry-credentials.ts) and sends
 * them with the pulls and deploys that name that registry.
 */
import { InvalidArgumentError } from '../../shared/errors';
import { flagString } from '../../shared/flags';
import { DEFAULT_REGISTRY, normalizeRegistryHost } from '../../shared/image-ref';
import type { LoginRequest } from '../../shared/api-types';
import type { CommandContext } from '../context';
import { readLine } from '../prompt';
import { configPath, removeCredential, storeCredential } from '../registry-credentials';

/** `https://host:5000/` (as people paste it) → `host:5000`; none → docker.io. */
export function registryArg(arg: string | undefined): string {
  if (arg === undefined) return DEFAULT_REGISTRY;
  const bare = arg.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  try {
    return normalizeRegistryHost(bare);
  } catch {
    throw new InvalidArgumentError(`${JSON.stringify(arg)} is not a registry (host[:port])`);
  }
}

export async function login(ctx: CommandContext): Promise<void> {
  const [arg, extra] = ctx.args.positionals;
  if (extra !== undefined) throw new InvalidArgumentError('usage: tsswarm login [REGISTRY] [-u USER] [--password-stdin]');
  const registry = registryArg(arg);
  const fromStdin = ctx.args.flags.get('password-stdin') === true;
  let username = flagString(ctx.args, 'username') ?? flagString(ctx.args, 'user');
  if (username === null) {
    if (fromStdin || !process.stdin.isTTY) throw new InvalidArgumentError('login: give the user name with -u USER');
    username = (await readLine('Username: ', { secret: false })).trim();
  }
  if (username === '') throw new InvalidArgumentError('login: the user name is empty');
  if (!fromStdin && !process.stdin.isTTY) throw new InvalidArgumentError('login: no terminal to ask for the password on; use --password-stdin');
  let password = await readLine('Password: ', { secret: true });
  if (fromStdin) password = password.replace(/\r$/, '');
  if (password === '') throw new InvalidArgumentError('login: the password is empty');
  const req: LoginRequest = { registry, username, password };
  await ctx.client.post('/v1/registry/login', req);
  await storeCredential(registry, { username, password });
  process.stdout.write(`Login Succeeded (credentials kept in ${configPath()})\n`);
}

export async function logout(ctx: CommandContext): Promise<void> {
  const [arg, extra] = ctx.args.positionals;
  if (extra !== undefined) throw new InvalidArgumentError('usage: tsswarm logout [REGISTRY]');
  const registry = registryArg(arg);
  process.stdout.write((await removeCredential(registry)) ? `Removing login credentials for ${registry}\n` : `Not logged in to ${registry}\n`);
}
