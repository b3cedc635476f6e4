/**
 * Node management through the API: find a node by id, id prefix or hostname;
 * plan an update (availability, labels, role) or a removal. Pure checks on
 * what was read; the route commits the result guarded by the node's revision.
 */
import type { ClusterNode, NodeAvailability, NodeRole } from '../../shared/types';
import { ConflictError, InvalidArgumentError, NodeNotFoundError } from '../../shared/errors';
import type { NodeUpdateRequest } from '../../shared/api-types';
import type { Versioned } from '../store/store';

const AVAILABILITIES: NodeAvailability[] = ['active', 'pause', 'drain'];
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

export function findNode(nodes: Versioned<ClusterNode>[], ref: string): Versioned<ClusterNode> {
  const exact = nodes.filter((n) => n.value.id === ref || n.value.hostname === ref);
  if (exact.length === 1) return exact[0]!;
  if (exact.length > 1) throw new InvalidArgumentError(`node ${ref} is ambiguous: ${exact.map((n) => n.value.id.slice(0, 12)).join(', ')}; use the ID`);
  const prefixed = ref.length >= 4 ? nodes.filter((n) => n.value.id.startsWith(ref)) : [];
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) throw new InvalidArgumentError(`node ${ref} is ambiguous: ${prefixed.map((n) => n.value.id.slice(0, 12)).join(', ')}`);
  throw new NodeNotFoundError(`node ${ref} not found`);
}

/** The node after `req`, or an error naming the first thing wrong with it (nothing is half-applied). */
export function planNodeUpdate(node: ClusterNode, req: NodeUpdateRequest, all: ClusterNode[]): ClusterNode {
  if (typeof req !== 'object' || req === null) throw new InvalidArgumentError('expected a JSON object');
  const next: ClusterNode = { ...node, labels: { ...node.labels } };
  if (req.availability !== undefined) {
    if (!AVAILABILITIES.includes(req.availability)) throw new InvalidArgumentError(`invalid availability ${JSON.stringify(req.availability)}: use active, pause or drain`);
    next.availability = req.availability;
  }
  for (const key of req.labelRm ?? []) {
    if (!(key in next.labels)) throw new InvalidArgumentError(`label ${key} is not on node ${node.hostname}`);
    delete next.labels[key];
  }
  for (const [key, value] of Object.entries(req.labelAdd ?? {})) {
    if (!LABEL_KEY.test(key)) throw new InvalidArgumentError(`invalid label key ${JSON.stringify(key)}: letters, digits and . _ / - only`);
    if (typeof value !== 'string') throw new InvalidArgumentError(`label ${key}: value must be a string`);
    next.labels[key] = value;
  }
  if (req.role !== undefined) next.role = planRole(node, req.role, all);
  return next;
}

function planRole(node: ClusterNode, role: NodeRole, all: ClusterNode[]): NodeRole {
  if (role !== 'manager' && role !== 'worker') throw new InvalidArgumentError(`invalid role ${JSON.stringify(role)}`);
  // The node's own agent starts or stops its manager: it has to be there to do it.
  if (role !== node.role && node.status.state !== 'ready') throw new ConflictError(`node ${node.hostname} is ${node.status.state}; it must be ready to change its role`);
  if (role === 'worker' && node.role === 'manager' && all.filter((n) => n.role === 'manager').length <= 1) {
    throw new ConflictError(`node ${node.hostname} is the only manager; promote another node before demoting it`);
  }
  return role;
}

/** Checks that `node` may be removed: down (or forced), and not a manager. */
export function checkNodeRemoval(node: ClusterNode, force: boolean): void {
  if (node.role === 'manager') throw new ConflictError(`node ${node.hostname} is a manager; demote it before removing it`);
  if (node.status.state !== 'down' && !force) throw new ConflictError(`node ${node.hostname} is ${node.status.state}, not down; stop it first or use --force`);
}
