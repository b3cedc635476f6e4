import * as fs from 'node:fs';
import { InvalidArgumentError } from '../../shared/errors';
import { flagString } from '../../shared/flags';
import type { ImageInspect, ImagePruneResult, ImageView } from '../../shared/api-types';
import { canonicalImageRef, registryOf } from '../../shared/image-ref';
import { encodeRegistryAuth, REGISTRY_AUTH_HEADER } from '../../shared/registry/auth-header';
import type { CommandContext } from '../context';
import { ApiError } from '../client';
import { credentialFor } from '../registry-credentials';
import { PullView, type PullLine } from '../pull-view';
import { readLine } from '../prompt';
import { printJson, printTable } from '../table';

const USAGE = 'usage: tsswarm image pull REF | push REF | import FILE NAME[:TAG] | ls | inspect REF... | tag SOURCE TARGET | rm [-f] REF... | save -o FILE REF... | prune [-a] [-f]';

export async function image(ctx: CommandContext): Promise<void> {
  const [sub, file, ref] = ctx.args.positionals;
  switch (sub) {
    case 'ls': {
      const list = await ctx.client.get<ImageView[]>('/v1/images');
      if (ctx.json) return printJson(list);
      return printTable(['IMAGE', 'DIGEST', 'SIZE'], list.map((i) => [i.ref, i.digest.slice(0, 19), `${(i.size / 1e6).toFixed(1)}MB`]));
    }
    case 'import': {
      if (!file || !ref) throw new InvalidArgumentError('usage: tsswarm image import FILE NAME[:TAG]');
      if (!fs.existsSync(file)) throw new InvalidArgumentError(`file ${file} not found`);
      const res = await ctx.client.request<ImageView>('POST', `/v1/images/import?ref=${encodeURIComponent(ref)}`, fs.createReadStream(file));
      process.stdout.write(`Imported ${res.ref} (${res.digest})\n`);
      return;
    }
    case 'pull':
    case 'push':
      if (!file || ref !== undefined) throw new InvalidArgumentError(`usage: tsswarm image ${sub} [--quiet] REF`);
      return transfer(ctx, sub, file);
    case 'inspect': {
      const refs = ctx.args.positionals.slice(1);
      if (refs.length === 0) throw new InvalidArgumentError('usage: tsswarm image inspect REF...');
      // Every one found first: an unknown one prints nothing.
      const out = await Promise.all(refs.map((r) => ctx.client.get<ImageInspect>(`/v1/images/inspect?ref=${encodeURIComponent(r)}`)));
      return printJson(out);
    }
    case 'save': {
      const out = flagString(ctx.args, 'output') ?? flagString(ctx.args, 'o');
      const refs = ctx.args.positionals.slice(1);
      if (!out || refs.length === 0) throw new InvalidArgumentError('usage: tsswarm image save -o FILE REF...');
      await ctx.client.download(`/v1/images/save?${refs.map((r) => `ref=${encodeURIComponent(r)}`).join('&')}`, out);
      return;
    }
    case 'tag': {
      if (!file || !ref || ctx.args.positionals.length !== 3) throw new InvalidArgumentError('usage: tsswarm image tag SOURCE TARGET');
      await ctx.client.post('/v1/images/tag', { source: file, target: ref });
      return;
    }
    case 'rm': {
      const refs = ctx.args.positionals.slice(1);
      if (refs.length === 0) throw new InvalidArgumentError('usage: tsswarm image rm [-f] REF...');
      const force = ctx.args.flags.get('force') === true || ctx.args.flags.get('f') === true;
      for (const r of refs) {
        const res = await ctx.client.delete<{ untagged: string[]; deleted: string | null }>(`/v1/images?ref=${encodeURIComponent(r)}${force ? '&force=1' : ''}`);
        for (const u of res.untagged) process.stdout.write(`Untagged: ${u}\n`);
        if (res.deleted) process.stdout.write(`Deleted: ${res.deleted}\n`);
      }
      return;
    }
    case 'prune':
      return prune(ctx);
    default:
      throw new InvalidArgumentError(USAGE);
  }
}

/**
 * `image prune [-a]`: Docker's, for the cluster: dangling images (or, with -a, every image no
 * service or task uses) leave the cluster registry, and each node drops the images none of its
 * tasks uses. On a terminal it asks first, as Docker does, unless -f.
 */
async function prune(ctx: CommandContext): Promise<void> {
  const all = ctx.args.flags.get('all') === true || ctx.args.flags.get('a') === true;
  const force = ctx.args.flags.get('force') === true || ctx.args.flags.get('f') === true;
  if (!force && process.stdin.isTTY) {
    const what = all ? 'all images without at least one service using them' : 'all dangling images';
    const answer = await readLine(`WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `, { secret: false });
    if (!/^y(es)?$/i.test(answer.trim())) return;
  }
  const res = await ctx.client.post<ImagePruneResult>(`/v1/images/prune${all ? '?all=1' : ''}`, {});
  if (ctx.json) return printJson(res);
  for (const r of res.removed) process.stdout.write(`Deleted: ${r.ref}${r.node ? ` (on ${r.node})` : ''}\n`);
  for (const e of res.errors) process.stderr.write(`warning: ${e}\n`);
  if (res.removed.length === 0) process.stdout.write('Nothing to remove\n');
}

/**
 * `image pull|push REF`: the manager pulls or pushes; the CLI shows its progress (bars on a TTY,
 * lines otherwise) and sends `login`'s credentials for the registry REF names.
 */
async function transfer(ctx: CommandContext, op: 'pull' | 'push', ref: string): Promise<void> {
  const quiet = ctx.args.flags.get('quiet') === true || ctx.args.flags.get('q') === true;
  const done = await transferImage(ctx, op, ref, quiet || ctx.json);
  if (ctx.json) return printJson(done);
  process.stdout.write(quiet ? `${done.ref}\n` : `${done.ref}@${done.digest}\n`);
}

/** A pull into the cluster or a push from it, with `login`'s credentials, its progress on stderr. */
export async function transferImage(ctx: CommandContext, op: 'pull' | 'push', ref: string, quiet: boolean): Promise<ImageView & { warning?: string | null }> {
  const target = canonicalImageRef(ref);
  const { registry } = registryOf(target.name);
  const credential = credentialFor(registry);
  const headers: Record<string, string> = credential ? { [REGISTRY_AUTH_HEADER]: encodeRegistryAuth(credential, registry) } : {};
  const view = new PullView(process.stderr, { quiet });
  let result: (ImageView & { warning?: string | null }) | null = null;
  let failure: { code: string; message: string } | null = null;
  try {
    await ctx.client.stream<PullLine>(`/v1/images/${op}?ref=${encodeURIComponent(ref)}`, (line) => {
      if ('result' in line) result = line.result;
      else if ('error' in line) failure = line.error;
      else view.update(line);
    }, { method: 'POST', headers });
  } finally {
    view.end();
  }
  if (failure !== null) throw new ApiError((failure as { code: string }).code, (failure as { message: string }).message, 502);
  if (result === null) throw new ApiError('BAD_RESPONSE', `the manager ended the ${op} without a result`, 502);
  const done = result as ImageView & { warning?: string | null };
  if (done.warning) process.stderr.write(`warning: ${done.warning}\n`);
  return done;
}
