/** `service ls|ps|logs|rebalance|inspect|scale|pause|unpause|create|update|rollback|rm`. */
import { InvalidArgumentError } from '../../shared/errors';
import { flagString } from '../../shared/flags';
import type { RebalanceResult, ServiceCreateRequest, ServiceUpdateRequest, ServiceView, ServiceWriteResult, TaskView } from '../../shared/api-types';
import { withoutDigest } from '../../shared/image-ref';
import { credentialsForImages } from '../registry-credentials';
import type { Service } from '../../shared/types';
import { specFromCreateFlags, specFromUpdateFlags } from '../service-flags';
import type { CommandContext } from '../context';
import { printJson, printTable } from '../table';
import { waitConverged } from '../converge';
import { printTasks } from './tasks-table';
import { serviceLogs } from './logs';

export async function service(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.args.positionals;
  switch (sub) {
    case 'ls': {
      const list = await ctx.client.get<ServiceView[]>('/v1/services');
      if (ctx.json) return printJson(list.map((s) => ({ id: s.id, name: s.name, mode: s.mode, desired: s.desired, running: s.running, upToDate: s.upToDate, image: s.image, stack: s.stack, specVersion: s.specVersion, update: s.update, waitingFor: s.waitingFor })));
      // As Docker's: the tag the service was given; its digest is in `service ps` and `inspect`.
      return printTable(['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'UPDATE'], list.map((s) => [s.id.slice(0, 12), s.name, s.mode, `${s.running}/${s.desired}`, withoutDigest(s.image), s.update ? s.update.state : '']));
    }
    case 'create': {
      const [image, ...command] = rest;
      if (image === undefined) throw new InvalidArgumentError('usage: tsswarm service create --name NAME [OPTIONS] IMAGE [COMMAND [ARG...]]');
      const spec = specFromCreateFlags(ctx.args, image, command);
      const req: ServiceCreateRequest = { spec, resolveImage: ctx.args.flags.get('no-resolve-image') === true ? 'never' : 'always', registryAuth: credentialsForImages([spec.task.container.image]), ...withRegistryAuth(ctx) };
      const r = await ctx.client.post<ServiceWriteResult>('/v1/services', req);
      process.stdout.write(`${r.id}\n`);
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      return wait(ctx, [r.name], null);
    }
    case 'update': {
      if (rest.length !== 1) throw new InvalidArgumentError('usage: tsswarm service update [OPTIONS] SERVICE');
      const cur = await ctx.client.get<Service>(`/v1/services/${encodeURIComponent(rest[0]!)}`);
      if (ctx.args.flags.get('rollback') === true) return rollback(ctx, cur.spec.name);
      const spec = specFromUpdateFlags(ctx.args, cur.spec);
      // As docker/cli: the registry is asked again when --image (or --force) says so, else the digest stays.
      const resolveImage = ctx.args.flags.get('no-resolve-image') === true ? 'never' : ctx.args.flags.has('image') || ctx.args.flags.get('force') === true ? 'always' : 'changed';
      const req: ServiceUpdateRequest = { spec, version: cur.specVersion, resolveImage, registryAuth: credentialsForImages([spec.task.container.image]), ...withRegistryAuth(ctx) };
      const r = await ctx.client.post<ServiceWriteResult>(`/v1/services/${encodeURIComponent(cur.id)}/update`, req);
      process.stdout.write(`${r.name}\n`);
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      return wait(ctx, [r.name], 'update');
    }
    case 'rollback': {
      if (rest.length !== 1) throw new InvalidArgumentError('usage: tsswarm service rollback SERVICE');
      return rollback(ctx, rest[0]!);
    }
    case 'rm': {
      if (rest.length === 0) throw new InvalidArgumentError('usage: tsswarm service rm SERVICE [SERVICE...]');
      // Each name is checked first, so an unknown one removes nothing.
      const found = await Promise.all(rest.map((n) => ctx.client.get<Service>(`/v1/services/${encodeURIComponent(n)}`)));
      for (const s of found) {
        await ctx.client.delete(`/v1/services/${encodeURIComponent(s.id)}`);
        process.stdout.write(`${s.spec.name}\n`);
      }
      return;
    }
    case 'ps': {
      if (rest.length === 0) throw new InvalidArgumentError('usage: tsswarm service ps SERVICE [SERVICE...]');
      const tasks: TaskView[] = [];
      for (const name of rest) tasks.push(...(await ctx.client.get<TaskView[]>(`/v1/services/${encodeURIComponent(name)}/tasks`)));
      return printTasks(ctx, tasks);
    }
    case 'logs':
      return serviceLogs(ctx, rest);
    case 'rebalance': {
      const all = ctx.args.flags.get('all') === true;
      if (all === (rest.length > 0)) throw new InvalidArgumentError('usage: tsswarm service rebalance SERVICE... | --all');
      const results = all
        ? await ctx.client.post<RebalanceResult[]>('/v1/rebalance', {})
        : await Promise.all(rest.map((n) => ctx.client.post<RebalanceResult>(`/v1/services/${encodeURIComponent(n)}/rebalance`, {})));
      if (ctx.json) printJson(results);
      else for (const r of results) process.stdout.write(`${r.name}: ${r.message}\n`);
      const started = results.filter((r) => r.started).map((r) => r.name);
      if (started.length > 0) await wait(ctx, started, 'update');
      return;
    }
    case 'inspect': {
      if (rest.length === 0) throw new InvalidArgumentError('usage: tsswarm service inspect SERVICE [SERVICE...]');
      const out: unknown[] = [];
      for (const name of rest) out.push(await ctx.client.get(`/v1/services/${encodeURIComponent(name)}`));
      return printJson(out);
    }
    case 'scale': {
      if (rest.length === 0) throw new InvalidArgumentError('usage: tsswarm service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]');
      const scales: Record<string, number> = {};
      for (const a of rest) {
        const m = /^([^=]+)=(\d+)$/.exec(a);
        if (!m) throw new InvalidArgumentError(`invalid scale argument ${a}: expected SERVICE=REPLICAS with a non-negative integer`);
        scales[m[1]!] = Number(m[2]);
      }
      await ctx.client.post('/v1/scale', { scales });
      for (const [name, n] of Object.entries(scales)) process.stdout.write(`${name} scaled to ${n}\n`);
      if (ctx.args.flags.get('detach') === true) return;
      const views = await ctx.client.get<ServiceView[]>('/v1/services');
      const names = Object.keys(scales).map((n) => views.find((v) => v.name === n || v.id === n)?.name ?? n);
      const t = flagString(ctx.args, 'timeout');
      if (!(await waitConverged(ctx.client, { services: names, stack: null, timeoutMs: t ? Number(t) * 1000 : null }))) {
        throw new InvalidArgumentError('services did not converge in time (tsswarm service ps shows why)');
      }
      return;
    }
    case 'pause':
    case 'unpause': {
      if (rest.length === 0) throw new InvalidArgumentError(`usage: tsswarm service ${sub} SERVICE [SERVICE...]`);
      for (const name of rest) {
        const r = await ctx.client.post<{ service: string; tasks: number }>(`/v1/services/${encodeURIComponent(name)}/pause`, { paused: sub === 'pause' });
        process.stdout.write(`${r.service} ${sub === 'pause' ? 'paused' : 'unpaused'} (${r.tasks} task${r.tasks === 1 ? '' : 's'})\n`);
      }
      return;
    }
    default:
      throw new InvalidArgumentError('usage: tsswarm service ls | ps SERVICE | logs SERVICE|TASK | rebalance SERVICE...|--all | inspect SERVICE | create ... IMAGE | update ... SERVICE | rollback SERVICE | rm SERVICE... | scale SERVICE=N... | pause SERVICE... | unpause SERVICE...');
  }
}

async function rollback(ctx: CommandContext, name: string): Promise<void> {
  const r = await ctx.client.post<ServiceWriteResult>(`/v1/services/${encodeURIComponent(name)}/rollback`, {});
  process.stdout.write(`${r.name}\n`);
  return wait(ctx, [r.name], 'rollback');
}

/** Waits for convergence unless --detach; a wait that times out is an error. */
async function wait(ctx: CommandContext, names: string[], expect: 'update' | 'rollback' | null): Promise<void> {
  if (ctx.args.flags.get('detach') === true) return;
  const t = flagString(ctx.args, 'timeout');
  if (!(await waitConverged(ctx.client, { services: names, stack: null, timeoutMs: t ? Number(t) * 1000 : null, expect }))) {
    throw new InvalidArgumentError(`${names.join(', ')} did not converge in time (tsswarm service ps shows why)`);
  }
}

/** `--with-registry-auth`: the managers keep the credential for the image's registry with the service, for its tasks' later pulls. */
export function withRegistryAuth(ctx: CommandContext): { withRegistryAuth?: true } {
  return ctx.args.flags.get('with-registry-auth') === true ? { withRegistryAuth: true } : {};
}
