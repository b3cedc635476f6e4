/** `secret create|ls|inspect|rm` and `config create|ls|inspect|rm`, Docker's commands. */
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../../shared/errors';
import { flagList } from '../../shared/flags';
import type { BlobCreateRequest, BlobView } from '../../shared/api-types';
import type { CommandContext } from '../context';
import { printJson, printTable } from '../table';

type Kind = 'secret' | 'config';

/** The bytes of FILE, or of stdin for `-` (Docker: `docker secret create NAME -`). */
function readData(kind: Kind, file: string): Buffer {
  try {
    return file === '-' ? fs.readFileSync(0) : fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new InvalidArgumentError(`${kind} create: cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
  }
}

function labelsOf(ctx: CommandContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of flagList(ctx.args, 'label')) {
    const eq = kv.indexOf('=');
    out[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? '' : kv.slice(eq + 1);
  }
  return out;
}

export function blobCommand(kind: Kind): (ctx: CommandContext) => Promise<void> {
  const plural = `${kind}s`;
  const usage = `usage: tsswarm ${kind} create [--label K=V]... NAME FILE|- | ls | inspect ${kind.toUpperCase()}... | rm ${kind.toUpperCase()}...`;
  return async (ctx) => {
    const [sub, ...rest] = ctx.args.positionals;
    switch (sub) {
      case 'create': {
        const [name, file, ...extra] = rest;
        if (!name || !file || extra.length) throw new InvalidArgumentError(`usage: tsswarm ${kind} create [--label K=V]... NAME FILE|-`);
        const body: BlobCreateRequest = { name, labels: labelsOf(ctx), data: readData(kind, file).toString('base64') };
        const made = await ctx.client.post<BlobView>(`/v1/${plural}`, body);
        process.stdout.write(`${made.id}\n`);
        return;
      }
      case 'ls': {
        const list = await ctx.client.get<BlobView[]>(`/v1/${plural}`);
        if (ctx.json) return printJson(list);
        return printTable(['ID', 'NAME', 'CREATED', 'USED BY'], list.map((b) => [b.id.slice(0, 12), b.name, b.createdAt, b.usedBy.join(',')]));
      }
      case 'inspect': {
        if (rest.length === 0) throw new InvalidArgumentError(`usage: tsswarm ${kind} inspect ${kind.toUpperCase()}...`);
        const out: BlobView[] = [];
        for (const ref of rest) out.push(await ctx.client.get<BlobView>(`/v1/${plural}/${encodeURIComponent(ref)}`));
        return printJson(out);
      }
      case 'rm': {
        if (rest.length === 0) throw new InvalidArgumentError(`usage: tsswarm ${kind} rm ${kind.toUpperCase()}...`);
        for (const ref of rest) {
          await ctx.client.delete(`/v1/${plural}/${encodeURIComponent(ref)}`);
          process.stdout.write(`${ref}\n`);
        }
        return;
      }
      default:
        throw new InvalidArgumentError(usage);
    }
  };
}
