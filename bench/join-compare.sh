#!/usr/bin/env bash
# Join benchmark, tsswarm against Docker Swarm (one dockerd per test-host
# namespace) in one run, alternating: each round runs bench/join.ts and then
# bench/docker-swarm-join.sh, each with 3 joins of host 2 into the cluster of
# host 1 (token → host 2 ready on the manager, and the join command's wall
# time), each on hosts of its own made for the round. The medians over all
# joins and their ratio are appended to bench/RESULTS.md as one row. Root;
# after `npm run build`.
#   bench/join-compare.sh [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/compare-lib.sh
source bench/compare-lib.sh
compare_options 3 "$@"
require_built dist/bench/join.js
compare_rounds node dist/bench/join.js --runs 3 --no-record -- bash bench/docker-swarm-join.sh --runs 3
compare_report <<'JS'
const med = (runs, k) => Math.round(median(runs.flatMap((x) => x[k])));
const joins = ours.flatMap((x) => x.readyMs).length;
const [oReady, oCli, pReady, pCli] = [med(ours, 'readyMs'), med(ours, 'cliMs'), med(peer, 'readyMs'), med(peer, 'cliMs')];
const row = `| ${peer[0].date} | join of a worker host: token → ready on the manager (2 hosts) | ${peer[0].machine}, ${peer[0].peer} | ${oReady} ms (join CLI ${oCli} ms) | ${pReady} ms (join CLI ${pCli} ms) | ${(oReady / pReady).toFixed(2)} | median of ${joins} joins each (${count} rounds of 3, alternating); a fresh join each time (tsswarm down --purge + node rm --force; docker swarm leave --force + node rm --force); manager polled one call after another both (tsswarm: GET /v1/nodes on its API socket every 20 ms; Docker: ${peer[0].poll}); CLI ratio ${(oCli / pCli).toFixed(2)}; tsswarm ready ${JSON.stringify(ours.flatMap((x) => x.readyMs))}, Docker ready ${JSON.stringify(peer.flatMap((x) => x.readyMs))} |`;
record([row]);
JS
