#!/usr/bin/env bash
# Service lifecycle benchmark, tsswarm against Docker Swarm (one dockerd per test-host namespace) in
# one run, alternating: each round runs bench/service-lifecycle.ts and then
# bench/docker-swarm-service-lifecycle.sh once, each on a fresh 3-host cluster: `service logs` of
# 30 tasks x 10,000 lines (time to the last line), an exec round trip (`true`, into a task on host 2),
# and the time from a health check turning unhealthy until the task is out of the service's load
# balancing (a client looping over the service name last hears from it: tsswarm's VIP; Docker's VIP, or
# DNS round robin where the kernel has no IPVS, as the peer's endpointMode says). Docker 20.10's
# `service logs` may stop printing and never exit: the peer counts those runs (logsHung) and times them
# to their last line. Medians and ratios are appended to bench/RESULTS.md.
# Root; after `npm run build`.
#   bench/service-lifecycle-compare.sh [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/compare-lib.sh
source bench/compare-lib.sh
compare_options 3 "$@"
require_built dist/bench/service-lifecycle.js
compare_rounds node dist/bench/service-lifecycle.js --runs 1 -- bash bench/docker-swarm-service-lifecycle.sh --runs 1
compare_report <<'JS'
const all = (xs, k) => xs.flatMap((x) => x[`${k}All`] ?? [x[k]]);
const rows = [
  ['logsMs', '`service logs` of 30 tasks x 10,000 lines (3 hosts), until the last line', 'both from the manager host, output counted through a pipe; lines printed: tsswarm ' + JSON.stringify(ours.map((x) => x.logsLines)) + ', Docker ' + JSON.stringify(peer.map((x) => x.logsLines)) + '; Docker\'s command stopped printing and did not exit in ' + peer.reduce((n, x) => n + (x.logsHung ?? 0), 0) + ' of ' + peer.reduce((n, x) => n + x.runs, 0) + ' runs (timed to its last line; 300,000 lines were in the tasks\' logs)'],
  ['execMs', 'exec round trip (`true`) into a task on another host', 'tsswarm: the CLI on host 1 through its manager to host 2\'s agent; Docker: `docker exec` against host 2\'s own dockerd (Docker has no cluster-wide exec); 20 samples per round'],
  ['unhealthyMs', 'health check turns unhealthy → task out of the load balancing', 'interval 1s, timeout 1s, retries 1 both; from removing the file the check tests until a client looping over the service name (every 20 ms) last got an answer from that task; tsswarm through its VIP, Docker through ' + [...new Set(peer.map((x) => x.endpointMode))].join('/') + (peer.some((x) => x.endpointMode === 'dnsrr') ? ' (no IPVS in this kernel, so Docker\'s VIP answers nothing)' : '')],
].map(([k, what, how]) => {
  const o = median(all(ours, k));
  const p = median(all(peer, k));
  return `| ${ours[0].date} | ${what} | ${peer[0].machine}, ${peer[0].peer} | ${o} ms | ${p} ms | ${(o / p).toFixed(2)} | median of ${count} rounds, alternating; ${how}; tsswarm ${JSON.stringify(all(ours, k))}, Docker ${JSON.stringify(all(peer, k))} |`;
});
record(rows);
JS
