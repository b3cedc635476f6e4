/** `network create|ls|inspect|rm`. */
import { InvalidArgumentError } from '../../shared/errors';
import { flagList, flagString } from '../../shared/flags';
import type { NetworkCreateRequest, NetworkView } from '../../shared/api-types';
import type { CommandContext } from '../context';
import { printJson, printTable } from '../table';
import { parseNetworkOptions } from './network-options';

export async function network(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.args.positionals;
  switch (sub) {
    case 'ls': {
      const list = await ctx.client.get<NetworkView[]>('/v1/networks');
      if (ctx.json) return printJson(list);
      return printTable(['ID', 'NAME', 'DRIVER', 'SCOPE', 'SUBNET', 'ENCRYPTED'], list.map((n) => [n.id.slice(0, 12), n.name, n.driver, n.scope, n.subnet, n.encrypted === true ? 'yes' : 'no']));
    }
    case 'create': {
      const [name, ...extra] = rest;
      if (!name || extra.length) throw new InvalidArgumentError('usage: tsswarm network create [-d overlay] [--subnet CIDR] [--attachable] [--opt encrypted] NAME');
      const { encrypted } = parseNetworkOptions([...flagList(ctx.args, 'opt'), ...flagList(ctx.args, 'o')]);
      const body: NetworkCreateRequest = {
        name,
        driver: flagString(ctx.args, 'driver') ?? flagString(ctx.args, 'd') ?? 'overlay',
        subnet: flagString(ctx.args, 'subnet'),
        attachable: ctx.args.flags.get('attachable') === true,
        labels: {},
        encrypted,
      };
      const n = await ctx.client.post<NetworkView>('/v1/networks', body);
      process.stdout.write(`${n.id}\n`);
      return;
    }
    case 'inspect': {
      if (rest.length === 0) throw new InvalidArgumentError('usage: tsswarm network inspect NETWORK [NETWORK...]');
      const out: unknown[] = [];
      for (const name of rest) out.push(await ctx.client.get(`/v1/networks/${encodeURIComponent(name)}`));
      return printJson(out);
    }
    case 'rm': {
      if (rest.length === 0) throw new InvalidArgumentError('usage: tsswarm network rm NETWORK [NETWORK...]');
      for (const name of rest) {
        await ctx.client.delete(`/v1/networks/${encodeURIComponent(name)}`);
        process.stdout.write(`${name}\n`);
      }
      return;
    }
    default:
      throw new InvalidArgumentError('usage: tsswarm network create | ls | inspect | rm');
  }
}
