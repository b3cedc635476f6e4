/**
 * `tsswarm build [-t REF]... [-f Dockerfile] [--build-arg K=V]... [--target STAGE] [--no-cache]
 * [--push] [--network host|none] CONTEXT`: Docker's build, on this host, as root: RUN steps run in
 * the project's own runtime, base images come from the cluster registry (pulled into the cluster
 * first when it lacks them), the result goes into the cluster registry under the first tag (the
 * others tag it there), so every node can run it; `--push` then pushes each tag to the registry
 * it names. The build's state (layers, cache) is kept under `<data root>/build`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../../shared/errors';
import { flagList, flagString } from '../../shared/flags';
import { canonicalImageRef, formatImageRef } from '../../shared/image-ref';
import { RegistryClient } from '../../shared/registry/client';
import type { CommandContext } from '../context';
import { DEFAULT_DATA_ROOT } from '../client';
import { transferImage } from './image';
import { buildImage, type BuildResult } from '../../agent/image/build/builder';
import { BuildRoot } from '../../agent/image/build/build-root';
import { readContext } from '../../agent/image/build/build-context';
import { pushBuilt } from '../../agent/image/build/built-image';
import { ImageCache } from '../../agent/image/cache';
import { createRuntime } from '../../agent/runtime';
import { nativeSys } from '../../agent/runtime/sys';
import { readConfig } from '../init/config';

export interface BuildOptions {
  context: string;
  dockerfile: string | null;
  tags: string[];
  buildArgs: Record<string, string>;
  target: string | null;
  noCache: boolean;
  push: boolean;
  network: 'host' | 'none';
  quiet: boolean;
}

const USAGE = 'usage: tsswarm build [-t REF]... [-f Dockerfile] [--build-arg K=V]... [--target STAGE] [--no-cache] [--push] [--network host|none] CONTEXT';

export async function build(ctx: CommandContext): Promise<void> {
  const [context, ...extra] = ctx.args.positionals;
  if (!context || extra.length > 0) throw new InvalidArgumentError(USAGE);
  const network = flagString(ctx.args, 'network') ?? 'default';
  if (!['default', 'host', 'none'].includes(network)) throw new InvalidArgumentError(`--network: ${network} is not one of default, host, none`);
  const buildArgs: Record<string, string> = {};
  for (const a of flagList(ctx.args, 'build-arg')) {
    const eq = a.indexOf('=');
    // `--build-arg NAME` takes the value from the environment, as Docker does (and is skipped when unset).
    if (eq < 0) {
      if (process.env[a] !== undefined) buildArgs[a] = process.env[a] as string;
    } else buildArgs[a.slice(0, eq)] = a.slice(eq + 1);
  }
  const result = await runBuild(ctx, {
    context,
    dockerfile: flagString(ctx.args, 'file') ?? flagString(ctx.args, 'f'),
    tags: [...flagList(ctx.args, 'tag'), ...flagList(ctx.args, 't')],
    buildArgs,
    target: flagString(ctx.args, 'target'),
    noCache: ctx.args.flags.get('no-cache') === true,
    push: ctx.args.flags.get('push') === true,
    network: network === 'none' ? 'none' : 'host',
    quiet: ctx.args.flags.get('quiet') === true || ctx.args.flags.get('q') === true,
  });
  if (ctx.args.flags.get('quiet') === true || ctx.args.flags.get('q') === true) process.stdout.write(`${result.configDigest}\n`);
}

/** The build itself, also run by `deploy` for services with `build:`. */
export async function runBuild(ctx: CommandContext, o: BuildOptions): Promise<BuildResult> {
  if (process.getuid?.() !== 0) throw new InvalidArgumentError('tsswarm build runs its steps in containers: run it as root on a host of the cluster');
  const contextDir = path.resolve(o.context);
  if (!fs.statSync(contextDir, { throwIfNoEntry: false })?.isDirectory()) throw new InvalidArgumentError(`build context ${o.context} is not a directory`);
  const dockerfilePath = path.resolve(contextDir, o.dockerfile ?? 'Dockerfile');
  let text: string;
  try {
    text = fs.readFileSync(o.dockerfile === null ? dockerfilePath : path.resolve(o.dockerfile), 'utf8');
  } catch {
    throw new InvalidArgumentError(`cannot read the Dockerfile ${o.dockerfile ?? path.join(o.context, 'Dockerfile')}`);
  }
  const tags = o.tags.map((t) => formatImageRef(canonicalImageRef(t)));
  for (const t of tags) if (canonicalImageRef(t).digest !== null) throw new InvalidArgumentError(`-t ${t}: a tag cannot name a digest`);
  const ignoreText = fs.existsSync(path.join(contextDir, '.dockerignore')) ? fs.readFileSync(path.join(contextDir, '.dockerignore'), 'utf8') : null;

  const dataRoot = dataRootOf(ctx.client.host);
  const root = new BuildRoot(path.join(dataRoot, 'build'));
  // RUN steps' cgroups go below the host's own (`init --cgroup-parent`), beside its tasks'.
  const cgroupParent = `${readConfig(dataRoot)?.cgroupParent ?? 'tsswarm'}/build`;
  const registryConn = ctx.client.registry();
  const registry = new RegistryClient(registryConn.base, registryConn.fetch);
  const images = new ImageCache({ root: root.imagesDir, registryUrl: () => registryConn.base, fetch: registryConn.fetch });
  const abort = new AbortController();
  const onSignal = () => abort.abort(new InvalidArgumentError('build interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const out = (s: string) => {
    if (!o.quiet) process.stdout.write(s);
  };
  try {
    const result = await buildImage(
      {
        context: await readContext(contextDir, ignoreText),
        dockerfile: { text, name: path.basename(dockerfilePath) },
        buildArgs: o.buildArgs,
        target: o.target,
        noCache: o.noCache,
        network: o.network,
      },
      {
        root,
        runtime: createRuntime({ root: root.containersDir, cgroupParent }),
        sys: nativeSys(),
        registry,
        images,
        ensureImage: async (ref) => {
          out(`Pulling ${ref} into the cluster\n`);
          await transferImage(ctx, 'pull', ref, o.quiet);
        },
        out,
        signal: abort.signal,
      },
    );
    out(`Successfully built ${result.configDigest.slice(7, 19)}\n`);
    if (tags.length > 0) {
      const scratch = await root.scratch('push');
      try {
        await pushBuilt(registry, tags[0]!, result, scratch, abort.signal);
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
      for (const t of tags.slice(1)) await ctx.client.post('/v1/images/tag', { source: tags[0], target: t });
      for (const t of tags) out(`Successfully tagged ${t}\n`);
    } else {
      out('(not stored in the cluster: name the image with -t to run or push it)\n');
    }
    if (o.push) {
      if (tags.length === 0) throw new InvalidArgumentError('--push needs a name: give the image one with -t');
      for (const t of tags) {
        const pushed = await transferImage(ctx, 'push', t, o.quiet);
        out(`Pushed ${pushed.ref}@${pushed.digest}\n`);
      }
    }
    return result;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    images.close();
    await registryConn.close();
  }
}

/** The data root of the host whose API socket this is (`<root>/api.sock`), else the default one. */
function dataRootOf(host: string): string {
  if (host.endsWith('/api.sock') && !host.includes('://')) return path.dirname(host);
  return process.env.TSSWARM_DATA_ROOT ?? DEFAULT_DATA_ROOT;
}
