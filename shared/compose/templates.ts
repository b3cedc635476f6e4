/**
 * Swarm's per-task placeholders (`{{.Task.Slot}}`, `{{.Node.Hostname}}`, ...), which a stack file
 * may put in `hostname`, environment values and mount sources and targets. The loader keeps them
 * as written (the agent expands them for each task); it only checks that each placeholder is one
 * Swarm knows, and validates the rest of the value with a stand-in for each placeholder, so
 * `"{{.Node.Hostname}}-kibana"` is a valid hostname.
 */

/** The placeholders Swarm's service templates offer, as agent/executor/templates.ts expands them. */
export const TEMPLATE_FIELDS = [
  '.Service.ID',
  '.Service.Name',
  '.Service.Labels',
  '.Node.ID',
  '.Node.Hostname',
  '.Node.Platform.OS',
  '.Node.Platform.Architecture',
  '.Task.ID',
  '.Task.Name',
  '.Task.Slot',
] as const;

const PLACEHOLDER = /\{\{(.*?)\}\}/g;
/** `{{index .Service.Labels "com.example.team"}}`: one service label. */
const LABEL_INDEX = /^index\s+\.Service\.Labels\s+("(?:[^"\\]|\\.)*"|`[^`]*`)$/;

/** The action inside the braces, without Go's `{{- ` / ` -}}` space trimming markers. */
function action(body: string): string {
  return body.replace(/^-\s/, '').replace(/\s-$/, '').trim();
}

function known(body: string): boolean {
  const a = action(body);
  return (TEMPLATE_FIELDS as readonly string[]).includes(a) || LABEL_INDEX.test(a);
}

export function hasTemplate(text: string): boolean {
  return text.includes('{{');
}

/** Why the placeholders of `text` are not ones Swarm expands, or null when they are (or there are none). */
export function templateProblem(text: string): string | null {
  if (!hasTemplate(text) && !text.includes('}}')) return null;
  let rest = text;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (!known(m[1] ?? '')) {
      return `unknown template placeholder ${JSON.stringify(m[0])}: use one of ${TEMPLATE_FIELDS.map((f) => `{{${f}}}`).join(', ')} or {{index .Service.Labels "KEY"}}`;
    }
    rest = rest.replace(m[0], '');
  }
  if (rest.includes('{{') || rest.includes('}}')) return `unbalanced template braces in ${JSON.stringify(text)}`;
  return null;
}

/** `text` with every placeholder replaced by `stand`, to validate what surrounds them. */
export function withStandIns(text: string, stand = 'x'): string {
  return text.replace(PLACEHOLDER, stand);
}
