/**
 * `/distribution/{name}/json`: the digest a tag names now, which `docker service create|update`
 * and `docker stack deploy` ask before they send a spec (they then send `name:tag@digest`).
 * Answered by tsswarm's resolver, so it sees the cluster's own images (imported, built) and pulls
 * what it does not have, as a create would.
 */
import { credentialsFrom } from '../api/service-ops';
import type { DockerRoute } from './server';
import { registryAuthHeader } from './service-routes';

export const distributionRoutes: DockerRoute[] = [
  {
    method: 'GET',
    pattern: /^\/distribution\/(.+)\/json$/,
    handler: async (ctx, req, [name]) => {
      const auth = registryAuthHeader(req);
      const { image } = await ctx.resolver.resolve(name!, { mode: 'always', credential: credentialsFrom(auth ?? undefined) });
      const found = await ctx.images.resolve(image);
      if (!found) throw new Error(`image ${image} resolved but is not in this manager's store`);
      const platforms = found.index
        ? found.index.manifests.flatMap((m) => (m.platform ? [{ architecture: m.platform.architecture, os: m.platform.os, ...(m.platform.variant ? { variant: m.platform.variant } : {}) }] : []))
        : await ctx.images.config(found).then((c) => [{ architecture: c.architecture, os: c.os }]);
      return { Descriptor: { mediaType: found.mediaType, digest: found.digest, size: found.raw.length }, Platforms: platforms };
    },
  },
];
