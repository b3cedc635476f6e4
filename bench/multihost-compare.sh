#!/usr/bin/env bash
# Multi-host benchmark, tsswarm against Docker Swarm (one dockerd per test-host
# namespace) in one run, alternating: each round runs bench/multihost.ts and
# then bench/docker-swarm-multihost.sh once. Medians and ratios are appended to
# bench/RESULTS.md. Root; after `npm run build`.
#   bench/multihost-compare.sh [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/compare-lib.sh
source bench/compare-lib.sh
compare_options 3 "$@"
require_built dist/bench/multihost.js
compare_rounds node dist/bench/multihost.js --runs 1 -- bash bench/docker-swarm-multihost.sh --runs 1
compare_report <<'JS'
const rows = [['deploy30Ms', 'deploy 0→30 tasks until all reachable by name (3 hosts)'], ['scale90Ms', 'scale 30→90 until all reachable (3 hosts)'], ['rm90Ms', 'stack rm of 90 tasks until gone (3 hosts)']].map(([k, what]) => {
  const o = median(ours.map((x) => x[k]));
  const p = median(peer.map((x) => x[k]));
  return `| ${ours[0].date} | ${what} | ${peer[0].machine}, ${peer[0].peer} | ${o} ms | ${p} ms | ${(o / p).toFixed(2)} | median of ${count} rounds, alternating; stop grace 1s both; both: bench/reach-probe.sh in a client container (tasks.web over TCP DNS lists all + every address answers), deploy/scale detached; kernel without IPVS |`;
});
record(rows);
JS
