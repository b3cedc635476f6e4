/**
 * `/v1/services` writes outside a stack file: create, update, rollback, rebalance, remove. The
 * operations themselves are in service-ops.ts (the Docker Engine API uses them too).
 */
import type { RebalanceResult, ServiceCreateRequest, ServiceUpdateRequest } from '../../shared/api-types';
import { ConflictError } from '../../shared/errors';
import { Keys } from '../../shared/keys';
import type { Service } from '../../shared/types';
import { readJson } from './http-util';
import type { Route } from './server';
import { body, createService, rebalance, removeService, rollbackService, updateService } from './service-ops';

export { authPolicy, checkImage, credentialsFrom, findService, resolveMode } from './service-ops';

export const serviceRoutes: Route[] = [
  {
    method: 'POST',
    pattern: /^\/v1\/services$/,
    handler: async (ctx, req) => createService(ctx, body<ServiceCreateRequest>(await readJson(req), '')),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/services\/([^/]+)\/update$/,
    handler: async (ctx, req, [ref]) => updateService(ctx, ref!, body<ServiceUpdateRequest>(await readJson(req), ', "version": N')),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/services\/([^/]+)\/rollback$/,
    handler: async (ctx, _req, [ref]) => rollbackService(ctx, ref!),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/services\/([^/]+)\/rebalance$/,
    handler: async (ctx, _req, [ref]) => {
      const r = await rebalance(ctx, ref!);
      if (!r.started && r.refused) throw new ConflictError(r.message);
      return r;
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/rebalance$/,
    handler: async (ctx): Promise<RebalanceResult[]> => {
      const services = (await ctx.store.list<Service>(Keys.services)).filter((s) => s.value.spec.mode === 'replicated');
      const out: RebalanceResult[] = [];
      for (const s of services) out.push(await rebalance(ctx, s.value.id));
      return out;
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/v1\/services\/([^/]+)$/,
    handler: async (ctx, _req, [ref]) => removeService(ctx, ref!),
  },
];
