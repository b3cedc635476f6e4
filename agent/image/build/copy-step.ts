/**
 * COPY and ADD for the executor (builder.ts): where the files come from (the build context, or the
 * mounted rootfs of a stage or image for `COPY --from`), the part of the step's cache key that
 * depends on them, and the copy itself (copy-into.ts) into the step's mounted rootfs.
 *
 * The key of a copy from the context is the content of exactly what it copies (the files below
 * each source as .dockerignore leaves them, tree-digest.ts); a copy from a stage or an image is
 * keyed by that stage's key or the image's digest, which say its content already.
 */
import { createHash } from 'node:crypto';
import type { BuildContext } from './build-context';
import { copyInto } from './copy-into';
import { resolveSources, type ResolvedSource } from './copy-sources';
import type { AddInstruction, CopyInstruction } from './dockerfile-types';
import { contextTree, rootfsTree, type SourceTree } from './source-tree';
import { treeDigest } from './tree-digest';

export interface CopySources {
  context: BuildContext;
  /** `COPY --from`: the layers of the stage or image (top first), mounted at `fromRoot`. */
  fromLayers: string[] | null;
  /** What the content of `--from` is known by: the stage's cache key or the image's digest. */
  fromKey: string | null;
  fromRoot: string | null;
}

function treeOf(src: CopySources): SourceTree {
  return src.fromRoot !== null ? rootfsTree(src.fromRoot, 'source stage') : contextTree(src.context);
}

async function resolved(ins: CopyInstruction | AddInstruction, src: CopySources): Promise<{ tree: SourceTree; sources: ResolvedSource[] }> {
  const tree = treeOf(src);
  return { tree, sources: await resolveSources(tree, ins.sources, { add: ins.keyword === 'ADD', inline: ins.inline.length }) };
}

/** Every path below the sources that the copy takes (files, links, directories), relative to the tree. */
async function copiedPaths(tree: SourceTree, sources: ResolvedSource[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await tree.list(rel)) {
      const p = rel === '.' ? name : `${rel}/${name}`;
      const type = await tree.lstat(p);
      if (type === 'dir') await walk(p);
      else if (type !== null) out.push(p);
    }
  };
  for (const s of sources) {
    if (s.type === 'dir') await walk(s.resolved);
    else out.push(s.resolved);
  }
  return [...new Set(out)].sort();
}

/** The part of the cache key the copied files decide (and the flags that change what lands). */
export async function copyKey(ins: CopyInstruction | AddInstruction, src: CopySources): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ keyword: ins.keyword, sources: ins.sources, dest: ins.dest, chown: ins.chown, chmod: ins.chmod, inline: ins.inline.map((i) => [i.name, i.content]) }));
  if (src.fromKey !== null) {
    h.update(`\0from ${src.fromKey}`);
  } else {
    const { tree, sources } = await resolved(ins, src);
    h.update(`\0${JSON.stringify(sources.map((s) => [s.source, s.path, s.name, s.type]))}`);
    h.update(`\0${await treeDigest(tree.dir, await copiedPaths(tree, sources))}`);
  }
  return `sha256:${h.digest('hex')}`;
}

/** The copy itself, into the mounted rootfs of the step. */
export async function copyStep(rootfs: string, ins: CopyInstruction | AddInstruction, src: CopySources, workdir: string): Promise<void> {
  const { sources } = await resolved(ins, src);
  await copyInto(rootfs, sources, ins.dest, {
    workdir,
    chown: ins.chown,
    chmod: ins.chmod,
    inline: ins.inline.map((i) => ({ name: i.name, content: i.content })),
    unpack: ins.keyword === 'ADD',
  });
}
