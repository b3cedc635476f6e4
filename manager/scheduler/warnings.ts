/**
 * Warnings for the deploy API to show: services whose tasks no node of the cluster can take, so
 * they will wait as pending (as Swarm lets them) until one can. Pure; the API decides where they go.
 */
import type { ClusterNode, ServiceSpec } from '../../shared/types';
import { capacityOf } from './node-info';
import { nodeMeetsConstraints } from '../../shared/constraints';
import { reservationsFit } from './filters/resources';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function bytes(n: number): string {
  return n >= GiB ? `${+(n / GiB).toFixed(2)}GiB` : `${+(n / MiB).toFixed(2)}MiB`;
}

/** `2 CPUs, 512MiB of memory, gpu=2`: what a spec reserves. Empty when nothing. */
function reserved(spec: ServiceSpec): string {
  const r = spec.task.resources.reservations;
  const parts: string[] = [];
  if (r.nanoCpus !== null && r.nanoCpus > 0) parts.push(`${+(r.nanoCpus / 1e9).toFixed(3)} CPUs`);
  if (r.memoryBytes !== null && r.memoryBytes > 0) parts.push(`${bytes(r.memoryBytes)} of memory`);
  for (const [kind, n] of Object.entries(r.generic)) if (n > 0) parts.push(`${kind}=${n}`);
  return parts.join(', ');
}

/**
 * A service that reserves more than any node has in all (its constraints counted: only nodes that
 * meet them). With no nodes known there is nothing to compare with, and no warning.
 */
export function reservationWarnings(specs: ServiceSpec[], nodes: ClusterNode[]): string[] {
  const out: string[] = [];
  for (const spec of specs) {
    const what = reserved(spec);
    if (what === '') continue;
    const eligible = nodes.filter((n) => nodeMeetsConstraints(spec.task.placement.constraints, n));
    if (eligible.length === 0) continue;
    if (eligible.some((n) => reservationsFit(spec.task.resources, capacityOf(n), n))) continue;
    const where = eligible.length === nodes.length ? 'any node' : 'any node that meets its constraints';
    out.push(`service ${spec.name} reserves ${what}, more than ${where} has: its tasks stay pending until a node with enough joins`);
  }
  return out;
}

/** A service whose constraints no node meets now (a label may be added later: then its tasks run). */
export function constraintWarnings(specs: ServiceSpec[], nodes: ClusterNode[]): string[] {
  const out: string[] = [];
  for (const spec of specs) {
    const c = spec.task.placement.constraints;
    if (c.length === 0 || nodes.length === 0 || nodes.some((n) => nodeMeetsConstraints(spec.task.placement.constraints, n))) continue;
    out.push(`service ${spec.name}: no node satisfies its constraints (${c.join(', ')}): its tasks stay pending until one does`);
  }
  return out;
}

/** Both, in the order of the specs. */
export function placementWarnings(specs: ServiceSpec[], nodes: ClusterNode[]): string[] {
  return specs.flatMap((s) => [...constraintWarnings([s], nodes), ...reservationWarnings([s], nodes)]);
}
