#!/usr/bin/env bash
# Leader-manager failover, tsswarm against Docker Swarm (one dockerd per
# test-host namespace, all three managers) in one run, alternating: each round
# runs bench/leader-failover.ts once and then bench/docker-swarm-leader-failover.sh
# once; each of them runs its two scenarios (SIGKILL of the leader's manager
# process, with a scale 30→33 through a survivor; power cut of the leader's
# host) on fresh 3-host clusters. Both with their default election, heartbeat
# and restart settings. The medians are appended to bench/RESULTS.md as two
# rows: the kill (ratio of the new-leader times; both ratios in the notes) and
# the power cut (ratio of the times until all 30 run again). Root; after
# `npm run build`.
#   bench/leader-failover-compare.sh [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/compare-lib.sh
source bench/compare-lib.sh
compare_options 3 "$@"
require_built dist/bench/leader-failover.js
compare_rounds node dist/bench/leader-failover.js --runs 1 --no-record -- bash bench/docker-swarm-leader-failover.sh --runs 1
compare_report <<'JS'
// tsswarm prints one number per figure (its median), the peer a list: all rounds' values either way.
const all = (runs, scenario, k) => runs.flatMap((x) => [].concat(x[scenario][k]));
const med = (runs, scenario, k) => Math.round(median(all(runs, scenario, k)));
const ratio = (a, b) => (a / b).toFixed(2);
const o = { kl: med(ours, 'kill', 'leaderMs'), ks: med(ours, 'kill', 'scaleMs'), pl: med(ours, 'power', 'leaderMs'), pa: med(ours, 'power', 'allMs') };
const p = { kl: med(peer, 'kill', 'leaderMs'), ks: med(peer, 'kill', 'scaleMs'), pl: med(peer, 'power', 'leaderMs'), pa: med(peer, 'power', 'allMs') };
const { date, machine, peer: name } = peer[0];
const common = `median of ${count} rounds, alternating; defaults both (tsswarm: election lease 2 s, heartbeat 500 ms, grace 1.5 s; Docker: raft election 10 ticks of 1 s, heartbeat 5 s, restart delay 5 s)`;
const rows = [
  `| ${date} | leader-manager failover, 3 managers, 30 replicas: SIGKILL of the leader's manager (Docker: its dockerd) → another leads; scale 30→33 through a survivor all running | ${machine}, ${name} | new leader ${o.kl} ms, scale done ${o.ks} ms | new leader ${p.kl} ms, scale done ${p.ks} ms | ${ratio(o.kl, p.kl)} | ratio on the new-leader time; scale done ${ratio(o.ks, p.ks)}; ${common}; Docker's killed dockerd leaves its 10 containers running, counted among the 33 while the swarm still reports them running; tsswarm leader ${JSON.stringify(all(ours, 'kill', 'leaderMs'))} scale ${JSON.stringify(all(ours, 'kill', 'scaleMs'))}, Docker leader ${JSON.stringify(all(peer, 'kill', 'leaderMs'))} scale ${JSON.stringify(all(peer, 'kill', 'scaleMs'))} |`,
  `| ${date} | leader-manager failover: power cut of the leader's host → another leads; 30 replicas running again off the dead host | ${machine}, ${name} | new leader ${o.pl} ms, all 30 ${o.pa} ms | new leader ${p.pl} ms, all 30 ${p.pa} ms | ${ratio(o.pa, p.pa)} | ratio on the all-30 time; new leader ${ratio(o.pl, p.pl)}; ${common}; Docker gives every node 6 heartbeat periods (~30 s) after a leader change before it declares one down; tsswarm all ${JSON.stringify(all(ours, 'power', 'allMs'))}, Docker all ${JSON.stringify(all(peer, 'power', 'allMs'))} |`,
];
record(rows);
JS
