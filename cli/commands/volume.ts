/** `volume create|ls|inspect|rm|prune`: every node's local volumes, from any manager. */
import { InvalidArgumentError } from '../../shared/errors';
import { flagList, flagString } from '../../shared/flags';
import type { VolumeCreateRequest, VolumeView } from '../../shared/api-types';
import type { CommandContext } from '../context';
import { printJson, printTable } from '../table';

const USAGE = 'usage: tsswarm volume create [-d DRIVER] [--opt K=V]... [--label K=V]... [--node NODE] NAME | ls | inspect NAME... | rm [--force] [--node NODE] NAME... | prune [--all]';

function pairs(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of items) {
    const eq = kv.indexOf('=');
    out[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
  }
  return out;
}

export async function volume(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.args.positionals;
  const node = flagString(ctx.args, 'node');
  switch (sub) {
    case 'create': {
      const [name, ...extra] = rest;
      if (!name || extra.length) throw new InvalidArgumentError('usage: tsswarm volume create [-d DRIVER] [--opt K=V]... [--label K=V]... [--node NODE] NAME');
      const body: VolumeCreateRequest = {
        name,
        driver: flagString(ctx.args, 'driver') ?? flagString(ctx.args, 'd') ?? 'local',
        options: pairs([...flagList(ctx.args, 'opt'), ...flagList(ctx.args, 'o')]),
        labels: pairs(flagList(ctx.args, 'label')),
        node,
      };
      await ctx.client.post<VolumeView[]>('/v1/volumes', body);
      process.stdout.write(`${name}\n`);
      return;
    }
    case 'ls': {
      const list = await ctx.client.get<VolumeView[]>('/v1/volumes');
      if (ctx.json) return printJson(list);
      return printTable(['DRIVER', 'VOLUME NAME', 'NODE', 'IN USE'], list.map((v) => [v.driver, v.name, v.node, v.inUse.length > 0 ? String(v.inUse.length) : '']));
    }
    case 'inspect': {
      if (rest.length === 0) throw new InvalidArgumentError('usage: tsswarm volume inspect NAME...');
      const out: VolumeView[] = [];
      for (const name of rest) out.push(...(await ctx.client.get<VolumeView[]>(`/v1/volumes/${encodeURIComponent(name)}`)));
      return printJson(out);
    }
    case 'rm': {
      if (rest.length === 0) throw new InvalidArgumentError('usage: tsswarm volume rm [--force] [--node NODE] NAME...');
      const q = new URLSearchParams();
      if (ctx.args.flags.get('force') === true || ctx.args.flags.get('f') === true) q.set('force', '1');
      if (node !== null) q.set('node', node);
      for (const name of rest) {
        await ctx.client.delete(`/v1/volumes/${encodeURIComponent(name)}${q.size ? `?${q}` : ''}`);
        process.stdout.write(`${name}\n`);
      }
      return;
    }
    case 'prune': {
      const res = await ctx.client.post<{ removed: { node: string; name: string }[]; errors: string[] }>(`/v1/volumes/prune${ctx.args.flags.get('all') === true ? '?all=1' : ''}`, {});
      for (const r of res.removed) process.stdout.write(`${r.node}: ${r.name}\n`);
      for (const e of res.errors) process.stderr.write(`warning: ${e}\n`);
      return;
    }
    default:
      throw new InvalidArgumentError(USAGE);
  }
}
