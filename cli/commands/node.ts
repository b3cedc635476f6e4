import { InvalidArgumentError } from '../../shared/errors';
import type { NodeView } from '../../shared/api-types';
import type { CommandContext } from '../context';
import { printJson, printTable } from '../table';

export async function node(ctx: CommandContext): Promise<void> {
  const [sub] = ctx.args.positionals;
  if (sub !== 'ls') throw new InvalidArgumentError('usage: tsswarm node ls');
  const nodes = await ctx.client.get<NodeView[]>('/v1/nodes');
  if (ctx.json) {
    return printJson(nodes.map((n) => ({ id: n.id, hostname: n.hostname, addr: n.addr, status: n.status, availability: n.availability, manager: n.manager, cpus: n.cpus, memoryBytes: n.memoryBytes, labels: n.labels })));
  }
  return printTable(
    ['ID', 'HOSTNAME', 'ADDRESS', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'CPUS', 'MEMORY'],
    nodes.map((n) => [n.id.slice(0, 12), n.hostname, n.addr, n.status, n.availability, n.manager, n.cpus, `${(n.memoryBytes / 2 ** 30).toFixed(1)}GiB`]),
  );
}
