#!/usr/bin/env bash
# Failover benchmark, tsswarm against Docker Swarm (one dockerd per test-host
# namespace) in one run, alternating: each round runs bench/failover.ts and then
# bench/docker-swarm-failover.sh once, each on a fresh 3-host cluster with 30
# replicas, a power cut of host 3, timed until the node is reported down and
# until 30 replicas run again elsewhere. Both with their default heartbeat and
# restart settings. The medians and their ratio are appended to
# bench/RESULTS.md as one row. Root; after `npm run build`.
#   bench/failover-compare.sh [--rounds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/compare-lib.sh
source bench/compare-lib.sh
compare_options 5 "$@"
require_built dist/bench/failover.js
compare_rounds node dist/bench/failover.js --runs 1 --no-record -- bash bench/docker-swarm-failover.sh --runs 1
compare_report <<'JS'
const med = (runs, k) => Math.round(median(runs.flatMap((x) => x[k])));
const [oAll, oDown, pAll, pDown] = [med(ours, 'allMs'), med(ours, 'downMs'), med(peer, 'allMs'), med(peer, 'downMs')];
const row = `| ${peer[0].date} | failover: power cut of 1 of 3 hosts (30 replicas) until all 30 run again | ${peer[0].machine}, ${peer[0].peer} | ${oAll} ms (node down ${oDown} ms) | ${pAll} ms (node down ${pDown} ms) | ${(oAll / pAll).toFixed(2)} | median of ${count} rounds, alternating; defaults both (tsswarm heartbeat 500 ms grace 1.5 s; Docker heartbeat 5 s, restart delay 5 s); tsswarm all ${JSON.stringify(ours.flatMap((x) => x.allMs))}, Docker all ${JSON.stringify(peer.flatMap((x) => x.allMs))} |`;
record([row]);
JS
