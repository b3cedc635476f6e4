import * as fs from 'node:fs';
import { InvalidArgumentError } from '../../shared/errors';
import type { ImageView } from '../../shared/api-types';
import type { CommandContext } from '../context';
import { printJson, printTable } from '../table';

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
    default:
      throw new InvalidArgumentError('usage: tsswarm image import FILE NAME[:TAG] | image ls');
  }
}
