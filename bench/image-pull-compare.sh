#!/usr/bin/env bash
# Image pull benchmark, tsswarm (and skopeo, measured in tsswarm's run) against Docker 20.10 in one
# run, alternating: each round runs bench/image-pull.ts and then bench/docker-image-pull.sh once.
# A fresh ~100 MB image of 5 layers from a local docker-registry, cold: `tsswarm image pull` vs
# `skopeo copy` to a directory vs `docker pull`; and a fresh one run on 3 hosts (one replica each)
# until all run: tsswarm's manager pulls once and the agents copy from the cluster registry, each
# Docker node pulls from the registry itself. Medians and ratios are appended to bench/RESULTS.md.
# Root; after `npm run build`.
#   bench/image-pull-compare.sh [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/compare-lib.sh
source bench/compare-lib.sh
compare_options 3 "$@"
require_built dist/bench/image-pull.js
compare_rounds node dist/bench/image-pull.js --runs 1 -- bash bench/docker-image-pull.sh --runs 1
compare_report <<'JS'
const all = (xs, k) => xs.flatMap((x) => x[`${k}All`] ?? [x[k]]);
const row = (what, o, p, peerName, how) => `| ${ours[0].date} | ${what} | ${peer[0].machine}, ${peerName} | ${o} ms | ${p} ms | ${(o / p).toFixed(2)} | median of ${count} rounds, alternating; ${how} |`;
const mb = ours[0].imageMB;
record([
  row(`image pull, ${mb} MB in 5 gzip layers from a local docker-registry, cold`, median(all(ours, 'pullMs')), median(all(peer, 'pullMs')), peer[0].peer,
    `tsswarm image pull (manager fetches, verifies, stores) vs docker pull (fetch, verify, unpack into overlay2); tsswarm ${JSON.stringify(all(ours, 'pullMs'))}, Docker ${JSON.stringify(all(peer, 'pullMs'))}`),
  row(`image pull, the same image, cold, against skopeo copy to a directory`, median(all(ours, 'pullMs')), median(all(ours, 'skopeoMs')), 'skopeo (Debian)',
    `skopeo fetches and verifies into an OCI directory, nothing stored or unpacked: the floor; in tsswarm's runs, alternating which goes first; skopeo ${JSON.stringify(all(ours, 'skopeoMs'))}`),
  row(`a fresh ${mb} MB image run on 3 hosts, one replica each, until all run`, median(all(ours, 'deploy3Ms')), median(all(peer, 'deploy3Ms')), peer[0].peer,
    `tsswarm: the manager pulls once, the agents copy from the cluster registry; Docker: docker service create, each node pulls from the registry; tsswarm ${JSON.stringify(all(ours, 'deploy3Ms'))}, Docker ${JSON.stringify(all(peer, 'deploy3Ms'))}`),
]);
JS
