#!/usr/bin/env bash
# Rolling update benchmark, tsswarm against Docker Swarm (one dockerd per test-host namespace) in
# one run, alternating: each round runs bench/rolling-update.ts and then
# bench/docker-swarm-rolling-update.sh once, each on a fresh 3-host cluster: 30 replicas,
# parallelism 5, delay 0, monitor 1s; a start-first update, a stop-first update, and a rollback
# (rollback_config left at Swarm's defaults: one task at a time), each timed until the update
# state says it is done. Medians and ratios are appended to bench/RESULTS.md. Root; after `npm run build`.
#   bench/rolling-update-compare.sh [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/compare-lib.sh
source bench/compare-lib.sh
compare_options 3 "$@"
require_built dist/bench/rolling-update.js
compare_rounds node dist/bench/rolling-update.js --runs 1 -- bash bench/docker-swarm-rolling-update.sh --runs 1
compare_report <<'JS'
const rows = [['startFirstMs', 'rolling update of 30 replicas, start-first, parallelism 5 (3 hosts), until completed'], ['stopFirstMs', 'rolling update of 30 replicas, stop-first, parallelism 5 (3 hosts), until completed'], ['rollbackMs', 'rollback of the same 30 replicas (rollback_config defaults: 1 at a time), until rollback_completed']].map(([k, what]) => {
  const o = median(ours.map((x) => x[k]));
  const p = median(peer.map((x) => x[k]));
  return `| ${ours[0].date} | ${what} | ${peer[0].machine}, ${peer[0].peer} | ${o} ms | ${p} ms | ${(o / p).toFixed(2)} | median of ${count} rounds, alternating; update delay 0, monitor 1s, stop grace 1s both (a shell that exits on SIGTERM); both timed from the update command until the service's update state is done and 30 tasks run; tsswarm ${JSON.stringify(ours.map((x) => x[k]))}, Docker ${JSON.stringify(peer.map((x) => x[k]))} |`;
});
record(rows);
JS
