/**
 * Swarm's templates (SwarmKit template/): `{{.Service.Name}}`, `{{.Task.Slot}}`, ... in a task's env
 * values, hostname, mount sources and targets and volume labels and driver options, expanded per task
 * on its node before anything else reads them. Only the placeholders Swarm documents are expanded;
 * anything else between braces is left as written, so a value that merely looks like a template
 * (a Go template meant for the program itself) reaches the container intact.
 */
import type { ContainerSpec, Mount } from '../../shared/types';

/** What the node knows of itself: `{{.Node.*}}`. Platform names are Docker's (`linux`, `amd64`, `arm64`). */
export interface NodeFacts {
  id: string;
  hostname: string;
  platform: { os: string; architecture: string };
}

export interface TemplateContext {
  service: { id: string; name: string; labels: Readonly<Record<string, string>> };
  node: NodeFacts;
  task: { id: string; name: string; slot: string };
}

/** The task fields the context is made of (an AssignedTask has them). */
export interface TemplateTask {
  id: string;
  serviceId: string;
  serviceName: string;
  slot: number | null;
}

/**
 * Swarm's names: `{{.Task.Name}}` is `<service>.<slot>.<task id>`, or `<service>.<node id>.<task id>`
 * for a global task (no slot); `{{.Task.Slot}}` of a global task is 0, as Swarm prints it.
 */
export function templateContext(t: TemplateTask, node: NodeFacts, serviceLabels: Readonly<Record<string, string>>): TemplateContext {
  const middle = t.slot === null ? node.id : String(t.slot);
  return {
    service: { id: t.serviceId, name: t.serviceName, labels: serviceLabels },
    node,
    task: { id: t.id, name: `${t.serviceName}.${middle}.${t.id}`, slot: String(t.slot ?? 0) },
  };
}

/** Go's `%v` of a map[string]string: `map[a:1 b:2]`, keys sorted. */
function goMap(m: Readonly<Record<string, string>>): string {
  return `map[${Object.keys(m)
    .sort()
    .map((k) => `${k}:${m[k] ?? ''}`)
    .join(' ')}]`;
}

function fields(ctx: TemplateContext): Record<string, string> {
  return {
    '.Service.Name': ctx.service.name,
    '.Service.ID': ctx.service.id,
    '.Service.Labels': goMap(ctx.service.labels),
    '.Node.ID': ctx.node.id,
    '.Node.Hostname': ctx.node.hostname,
    '.Node.Platform.OS': ctx.node.platform.os,
    '.Node.Platform.Architecture': ctx.node.platform.architecture,
    '.Task.ID': ctx.task.id,
    '.Task.Name': ctx.task.name,
    '.Task.Slot': ctx.task.slot,
  };
}

/** A Go string literal: "interpreted" (JSON's escapes are Go's common ones) or `raw`; null if it is neither. */
function goString(lit: string): string | null {
  if (lit.startsWith('`') && lit.endsWith('`') && lit.length >= 2) return lit.slice(1, -1);
  if (!lit.startsWith('"')) return null;
  try {
    const v: unknown = JSON.parse(lit);
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

const INDEX_RE = /^index\s+\.Service\.Labels\s+("(?:[^"\\]|\\.)*"|`[^`]*`)$/;

/** The value of one action's pipeline, or null when it is not one we expand. */
function evaluate(action: string, ctx: TemplateContext, known: Record<string, string>): string | null {
  const field = known[action];
  if (field !== undefined) return field;
  const m = INDEX_RE.exec(action);
  if (m === null) return null;
  const key = goString(m[1] as string);
  if (key === null) return null;
  // A missing key is the map's zero value, "", as Go's index gives it.
  return ctx.service.labels[key] ?? '';
}

const SPACE = /[ \t\r\n]/;

/** `text` with every Swarm placeholder replaced; `{{-` and `-}}` trim the spaces beside them, as in Go. */
export function expandTemplate(text: string, ctx: TemplateContext): string {
  if (!text.includes('{{')) return text;
  const known = fields(ctx);
  let out = '';
  let i = 0;
  for (;;) {
    const open = text.indexOf('{{', i);
    if (open < 0) break;
    const close = text.indexOf('}}', open + 2);
    if (close < 0) break;
    let body = text.slice(open + 2, close);
    const trimLeft = body.length >= 2 && body[0] === '-' && SPACE.test(body[1] as string);
    const trimRight = body.length >= 2 && body[body.length - 1] === '-' && SPACE.test(body[body.length - 2] as string);
    if (trimLeft) body = body.slice(1);
    if (trimRight) body = body.slice(0, -1);
    const value = evaluate(body.trim(), ctx, known);
    if (value === null) {
      out += text.slice(i, close + 2);
      i = close + 2;
      continue;
    }
    let before = text.slice(i, open);
    if (trimLeft) before = before.replace(/[ \t\r\n]+$/, '');
    out += before + value;
    i = close + 2;
    if (trimRight) while (i < text.length && SPACE.test(text[i] as string)) i++;
  }
  return out + text.slice(i);
}

function expandMap(m: Readonly<Record<string, string>>, ctx: TemplateContext): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, expandTemplate(v, ctx)]));
}

function expandMount(m: Mount, ctx: TemplateContext): Mount {
  return {
    ...m,
    source: expandTemplate(m.source, ctx),
    target: expandTemplate(m.target, ctx),
    volume:
      m.volume === null
        ? null
        : {
            ...m.volume,
            labels: expandMap(m.volume.labels, ctx),
            driver: m.volume.driver === null ? null : { name: m.volume.driver.name, options: expandMap(m.volume.driver.options, ctx) },
          },
  };
}

/**
 * The container spec as this task runs it (SwarmKit ExpandContainerSpec): env values (not names),
 * hostname, mount sources, targets, volume labels and driver options expanded.
 */
export function expandContainerSpec(c: ContainerSpec, ctx: TemplateContext): ContainerSpec {
  return {
    ...c,
    env: c.env.map((e) => {
      const eq = e.indexOf('=');
      return eq < 0 ? e : e.slice(0, eq + 1) + expandTemplate(e.slice(eq + 1), ctx);
    }),
    hostname: c.hostname === null ? null : expandTemplate(c.hostname, ctx),
    mounts: c.mounts.map((m) => expandMount(m, ctx)),
  };
}
