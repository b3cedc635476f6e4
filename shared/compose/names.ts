/**
 * Stack and service names. They end up in service names (`<stack>_<service>`)
 * and DNS, so they follow compose's project-name rule and swarm's
 * service-name rule.
 */
import { basename } from 'node:path';

/** Compose's rule for project names, which docker stack names follow too. */
export const STACK_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Swarm's rule for service names: a DNS label, allowing `_` (which the stack prefix needs). */
const SERVICE_NAME = /^[a-zA-Z0-9](?:[-_]*[a-zA-Z0-9]+)*$/;
/** Swarm refuses longer service names, since they become DNS labels. */
export const MAX_SERVICE_NAME_LENGTH = 63;

/** A name the user chose (`--name` or `name:`) is lowercased and must then be valid as it stands. */
export function normalizeStackName(name: string): string {
  return name.toLowerCase();
}

/**
 * A folder name was not chosen as a stack name, so like compose we drop the
 * characters a stack name cannot hold (`My App` → `myapp`) instead of failing.
 */
export function stackNameFromDir(dir: string): string {
  return basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}

export function invalidStackNameReason(name: string): string | null {
  if (name === '') return 'must not be empty';
  if (!STACK_NAME.test(name)) {
    return `invalid stack name ${JSON.stringify(name)}: must start with a letter or digit and contain only lowercase letters, digits, "_" and "-"`;
  }
  return null;
}

export function invalidServiceNameReason(service: string, stack: string): string | null {
  if (!SERVICE_NAME.test(service)) {
    return 'invalid service name: use letters, digits, "-" and "_", starting and ending with a letter or digit';
  }
  const full = `${stack}_${service}`;
  if (full.length > MAX_SERVICE_NAME_LENGTH) {
    return `service name ${JSON.stringify(full)} is longer than ${MAX_SERVICE_NAME_LENGTH} characters`;
  }
  return null;
}

const DNS_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

/** A DNS name of labels, at most 63 characters in all (the hostname rule; also network aliases). */
export function isDnsName(name: string): boolean {
  return name.length <= 63 && name.split('.').every((l) => DNS_LABEL.test(l));
}

/** Swarm's rule for secret, config and volume names: letters, digits, `-`, `_`, `.`, not at the ends. */
const OBJECT_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;
export const MAX_OBJECT_NAME_LENGTH = 64;

export function invalidObjectNameReason(name: string, what: string): string | null {
  if (!OBJECT_NAME.test(name)) return `invalid ${what} name ${JSON.stringify(name)}: use letters, digits, "-", "_" and ".", starting and ending with a letter or digit`;
  if (name.length > MAX_OBJECT_NAME_LENGTH) return `${what} name ${JSON.stringify(name)} is longer than ${MAX_OBJECT_NAME_LENGTH} characters`;
  return null;
}
