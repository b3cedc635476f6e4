/** `deploy`, `stack ls|ps|rm`. */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../../shared/errors';
import { flagString } from '../../shared/flags';
import type { DeployRequest, DeployResult, StackView, TaskView } from '../../shared/api-types';
import { loadStackFile } from '../../shared/compose';
import type { CommandContext } from '../context';
import { printJson, printTable } from '../table';
import { waitConverged, waitGone } from '../converge';
import { printTasks } from './tasks-table';
import { withRegistryAuth } from './service';
import { credentialsForImages } from '../registry-credentials';

function timeout(ctx: CommandContext): number | null {
  const t = flagString(ctx.args, 'timeout');
  if (t === null) return null;
  const n = Number(t);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('--timeout takes a number of seconds');
  return n * 1000;
}

export async function deploy(ctx: CommandContext): Promise<void> {
  const pos = ctx.args.positionals;
  let file = flagString(ctx.args, 'compose-file') ?? flagString(ctx.args, 'c');
  let name: string | null = null;
  if (file === null) {
    file = pos[0] ?? null;
    name = pos[1] ?? null;
    if (pos.length > 2) throw new InvalidArgumentError('usage: tsswarm deploy [-c] STACKFILE [NAME]');
  } else {
    name = pos[0] ?? null;
    if (pos.length > 1) throw new InvalidArgumentError('usage: tsswarm deploy -c STACKFILE [NAME]');
  }
  if (file === null) throw new InvalidArgumentError('usage: tsswarm deploy -c STACKFILE [NAME]');
  if (!fs.existsSync(file)) throw new InvalidArgumentError(`stack file ${file} not found`);
  const stack = loadStackFile(path.resolve(file), { name, env: process.env });
  for (const w of stack.warnings) process.stderr.write(`${w}\n`);
  const resolve = flagString(ctx.args, 'resolve-image') ?? 'always';
  if (resolve !== 'always' && resolve !== 'changed' && resolve !== 'never') throw new InvalidArgumentError(`--resolve-image: expected always, changed or never, got ${JSON.stringify(resolve)}`);
  // Services with `build:` get their image built first, into the cluster registry (Swarm ignores `build:`).
  if (stack.builds && stack.builds.length > 0) {
    const { runBuild } = await import('./build');
    for (const b of stack.builds) {
      process.stdout.write(`Building ${b.service} (${b.image})\n`);
      await runBuild(ctx, {
        context: b.context,
        dockerfile: b.dockerfile === null ? null : path.resolve(b.context, b.dockerfile),
        tags: [b.image],
        buildArgs: b.args,
        target: b.target,
        noCache: b.noCache,
        push: false,
        network: b.network ?? 'host',
        quiet: ctx.args.flags.get('quiet') === true || ctx.args.flags.get('q') === true,
      });
    }
  }
  const body: DeployRequest = {
    services: stack.services,
    networks: stack.networks,
    secrets: stack.secrets,
    configs: stack.configs,
    prune: ctx.args.flags.get('prune') === true,
    resolveImage: resolve,
    registryAuth: credentialsForImages(stack.services.map((s) => s.task.container.image)),
    ...withRegistryAuth(ctx),
  };
  const res = await ctx.client.post<DeployResult>(`/v1/stacks/${encodeURIComponent(stack.name)}`, body);
  for (const s of res.created) process.stdout.write(`Creating service ${s}\n`);
  for (const s of res.updated) process.stdout.write(`Updating service ${s}\n`);
  for (const s of res.removed) process.stdout.write(`Removing service ${s}\n`);
  for (const w of res.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
  if (ctx.args.flags.get('detach') === true) return;
  const names = stack.services.map((s) => s.name);
  if (!(await waitConverged(ctx.client, { services: names, stack: stack.name, timeoutMs: timeout(ctx), expect: 'update' }))) {
    throw new InvalidArgumentError(`stack ${stack.name} did not converge in time (tsswarm stack ps ${stack.name} shows why)`);
  }
}

export async function stack(ctx: CommandContext): Promise<void> {
  const [sub, name, ...rest] = ctx.args.positionals;
  switch (sub) {
    case 'deploy':
      // Docker spells it `docker stack deploy`.
      return deploy({ ...ctx, args: { flags: ctx.args.flags, positionals: ctx.args.positionals.slice(1) } });
    case 'ls': {
      const stacks = await ctx.client.get<StackView[]>('/v1/stacks');
      if (ctx.json) return printJson(stacks);
      return printTable(['NAME', 'SERVICES'], stacks.map((s) => [s.name, s.services]));
    }
    case 'ps': {
      if (!name) throw new InvalidArgumentError('usage: tsswarm stack ps STACK');
      const tasks = await ctx.client.get<TaskView[]>(`/v1/stacks/${encodeURIComponent(name)}/tasks`);
      return printTasks(ctx, tasks);
    }
    case 'rm': {
      const names = [name, ...rest].filter((n): n is string => !!n);
      if (names.length === 0) throw new InvalidArgumentError('usage: tsswarm stack rm STACK [STACK...]');
      const removed: string[] = [];
      for (const n of names) {
        const r = await ctx.client.delete<{ removed: string[] }>(`/v1/stacks/${encodeURIComponent(n)}`);
        for (const s of r.removed) process.stdout.write(`Removing service ${s}\n`);
        removed.push(...r.removed);
      }
      if (ctx.args.flags.get('detach') === true) return;
      if (!(await waitGone(ctx.client, removed, timeout(ctx)))) throw new InvalidArgumentError('tasks of the stack are still stopping');
      return;
    }
    default:
      throw new InvalidArgumentError('usage: tsswarm stack ls | ps STACK | rm STACK');
  }
}
