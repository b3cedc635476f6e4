import { InvalidArgumentError } from '../../shared/errors';
import { flagList, flagString } from '../../shared/flags';
import type { NodeUpdateRequest, NodeView } from '../../shared/api-types';
import type { CommandContext } from '../context';
import { printJson, printTable } from '../table';

const USAGE = 'usage: tsswarm node ls | inspect NODE | update [--availability A] [--label-add K=V] [--label-rm K] NODE | rm [--force] NODE... | promote NODE... | demote NODE...';

export async function node(ctx: CommandContext): Promise<void> {
  const [sub, ...refs] = ctx.args.positionals;
  switch (sub) {
    case 'ls':
      return list(ctx);
    case 'inspect':
      if (refs.length === 0) throw new InvalidArgumentError('usage: tsswarm node inspect NODE...');
      return printJson(await Promise.all(refs.map((r) => ctx.client.get<unknown>(`/v1/nodes/${encodeURIComponent(r)}`))));
    case 'update':
      return update(ctx, refs);
    case 'rm': {
      if (refs.length === 0) throw new InvalidArgumentError('usage: tsswarm node rm [--force] NODE...');
      const force = ctx.args.flags.get('force') === true || ctx.args.flags.get('f') === true;
      for (const r of refs) {
        await ctx.client.delete(`/v1/nodes/${encodeURIComponent(r)}${force ? '?force=1' : ''}`);
        process.stdout.write(`${r}\n`);
      }
      return;
    }
    case 'promote':
    case 'demote': {
      if (refs.length === 0) throw new InvalidArgumentError(`usage: tsswarm node ${sub} NODE...`);
      const role = sub === 'promote' ? 'manager' : 'worker';
      for (const r of refs) {
        await ctx.client.post(`/v1/nodes/${encodeURIComponent(r)}/update`, { role } satisfies NodeUpdateRequest);
        process.stdout.write(`Node ${r} is now a ${role}.\n`);
      }
      return;
    }
    default:
      throw new InvalidArgumentError(USAGE);
  }
}

async function list(ctx: CommandContext): Promise<void> {
  const nodes = await ctx.client.get<NodeView[]>('/v1/nodes');
  if (ctx.json) {
    return printJson(nodes.map((n) => ({ id: n.id, hostname: n.hostname, addr: n.addr, status: n.status, availability: n.availability, role: n.role, manager: n.manager, cpus: n.cpus, memoryBytes: n.memoryBytes, labels: n.labels })));
  }
  return printTable(
    ['ID', 'HOSTNAME', 'ADDRESS', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'CPUS', 'MEMORY'],
    nodes.map((n) => [n.id.slice(0, 12), n.hostname, n.addr, n.status, n.availability, n.manager, n.cpus, `${(n.memoryBytes / 2 ** 30).toFixed(1)}GiB`]),
  );
}

async function update(ctx: CommandContext, refs: string[]): Promise<void> {
  if (refs.length !== 1) throw new InvalidArgumentError('usage: tsswarm node update [--availability active|pause|drain] [--label-add K=V]... [--label-rm K]... NODE');
  const req: NodeUpdateRequest = {};
  const availability = flagString(ctx.args, 'availability');
  if (availability !== null) {
    if (availability !== 'active' && availability !== 'pause' && availability !== 'drain') throw new InvalidArgumentError(`invalid availability ${availability}: use active, pause or drain`);
    req.availability = availability;
  }
  const add = flagList(ctx.args, 'label-add');
  if (add.length) {
    req.labelAdd = {};
    for (const kv of add) {
      const eq = kv.indexOf('=');
      // `--label-add k` sets an empty value, as docker node update does.
      req.labelAdd[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
    }
  }
  const rm = flagList(ctx.args, 'label-rm');
  if (rm.length) req.labelRm = rm;
  if (Object.keys(req).length === 0) throw new InvalidArgumentError('node update: nothing to change (--availability, --label-add or --label-rm)');
  await ctx.client.post(`/v1/nodes/${encodeURIComponent(refs[0]!)}/update`, req);
  process.stdout.write(`${refs[0]}\n`);
}
