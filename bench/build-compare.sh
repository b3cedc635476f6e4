#!/usr/bin/env bash
# Build benchmark, tsswarm against Docker 20.10's `docker build` (BuildKit) in one run,
# alternating: each round runs bench/build.ts and then bench/docker-build.sh once. A small
# multi-stage Dockerfile (bench/build-context.ts), cold (--no-cache) and fully cached. Medians and
# ratios are appended to bench/RESULTS.md. Root; after `npm run build`.
#   bench/build-compare.sh [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/compare-lib.sh
source bench/compare-lib.sh
compare_options 3 "$@"
require_built dist/bench/build.js
compare_rounds node dist/bench/build.js --runs 1 -- bash bench/docker-build.sh --runs 1
compare_report <<'JS'
const all = (xs, k) => xs.flatMap((x) => x[`${k}All`] ?? [x[k]]);
const row = (what, k, how) => {
  const o = median(all(ours, k)), p = median(all(peer, k));
  return `| ${ours[0].date} | ${what} | ${peer[0].machine}, ${peer[0].peer} | ${o} ms | ${p} ms | ${(o / p).toFixed(2)} | median of ${count} rounds, alternating; ${how}; tsswarm ${JSON.stringify(all(ours, k))}, Docker ${JSON.stringify(all(peer, k))} |`;
};
record([
  row('build of a small multi-stage Dockerfile (2 stages, 2 RUN, 2 COPY, ~2 MB context), cold (--no-cache)', 'coldMs', 'tsswarm build (RUN in its own runtime, layers pushed into the cluster registry) vs docker build'),
  row('the same build, fully cached', 'cachedMs', 'every step from the cache, the image stored again'),
]);
JS
