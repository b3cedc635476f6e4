/**
 * `init`/`join --label K=V` (repeatable) and `--generic-resource KIND=N`: what the host's agent
 * says of itself when it registers: engine labels (constraints `engine.labels.K`, Docker's daemon
 * labels) and generic resources (reservations `generic_resources`). Checked before anything starts.
 */
import type { Parsed } from '../../shared/flags';
import { flagList } from '../../shared/flags';
import { InvalidArgumentError } from '../../shared/errors';

const KEY = /^[a-zA-Z0-9_.\-/]+$/;

export function engineLabelsFlag(args: Parsed): Record<string, string> | undefined {
  const items = flagList(args, 'label');
  if (items.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const kv of items) {
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    const value = eq < 0 ? '' : kv.slice(eq + 1);
    if (!KEY.test(key)) throw new InvalidArgumentError(`--label ${kv}: invalid key (letters, digits and . _ / - only)`);
    // The agent gets them as one comma-separated flag.
    if (value.includes(',')) throw new InvalidArgumentError(`--label ${kv}: a value cannot contain ","`);
    out[key] = value;
  }
  return out;
}

export function genericResourcesFlag(args: Parsed): Record<string, number> | undefined {
  const items = flagList(args, 'generic-resource');
  if (items.length === 0) return undefined;
  const out: Record<string, number> = {};
  for (const kv of items) {
    const m = /^([a-zA-Z0-9_.-]+)=(\d+)$/.exec(kv);
    if (!m || Number(m[2]) <= 0 || !Number.isSafeInteger(Number(m[2]))) throw new InvalidArgumentError(`--generic-resource ${kv}: expected KIND=COUNT, e.g. gpu=2`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}
